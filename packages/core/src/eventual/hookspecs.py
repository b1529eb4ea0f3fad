"""The hooks a plugin of eventual can implement.

A plugin is a module (or any object) whose functions are named after the hooks below
and decorated with ``eventual.hookimpl``. A distribution makes its plugin found,
without any change to user code, by declaring an entry point in the ``eventual``
group of its ``pyproject.toml``::

    [project.entry-points.eventual]
    acme = "acme_eventual"

``get_plugin_manager()`` registers core's built-in plugin, then every entry point of
that group (unless ``EVENTUAL_DISABLE_PLUGIN_AUTOLOAD`` is set), through these same
hooks.

Compatibility: hooks only ever gain arguments. An implementation may accept any
subset of its hook's arguments, by name, and pluggy passes only those; a plugin
written against an older eventual therefore keeps working when a hook gains an
argument. A hook is never renamed, and an argument never changes meaning.

Order: pluggy calls implementations from the most recently registered plugin to
the first one (``tryfirst``/``trylast`` on ``hookimpl`` move a plugin to the front
or the back). Built-in plugins are registered first, then entry-point plugins, then
plugins passed to ``get_plugin_manager(plugins=...)``. An implementation that
returns ``None`` contributes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ._plugins import hookspec

if TYPE_CHECKING:
    from ._codec import Codec
    from ._plugins import BackendProvider, DeployTarget, EventBusProvider

__all__ = [
    "eventual_backend_providers",
    "eventual_cli_commands",
    "eventual_config_defaults",
    "eventual_configure_codec",
    "eventual_deploy_targets",
    "eventual_event_bus_providers",
]

# A hookspec's body never runs: pluggy only reads its name, signature and markers.
# The bodies raise so that mypy accepts the declared return types.


@hookspec
def eventual_backend_providers() -> Sequence[BackendProvider]:
    """Contribute runtime backends (where executions, history and timers live).

    The backend a service runs on is chosen by name in configuration
    (``backend = "..."`` in ``[tool.eventual]``, ``EVENTUAL_BACKEND``, or a CLI
    flag), never by an import in user code.

    Returns:
        The backends this plugin provides. The results of all plugins are
        concatenated; two backends with the same name are an error, reported when
        the backends are listed.
    """
    raise NotImplementedError


@hookspec
def eventual_event_bus_providers() -> Sequence[EventBusProvider]:
    """Contribute event buses (how published events reach subscriptions).

    The bus is chosen by name (``event_bus = "..."`` in ``[tool.eventual]`` or
    ``EVENTUAL_EVENT_BUS``).

    Returns:
        The event buses this plugin provides. The results of all plugins are
        concatenated; two buses with the same name are an error.
    """
    raise NotImplementedError


@hookspec
def eventual_deploy_targets() -> Sequence[DeployTarget]:
    """Contribute deploy targets (ways to turn a service into infrastructure).

    Returns:
        The deploy targets this plugin provides. The results of all plugins are
        concatenated; two targets with the same name are an error.
    """
    raise NotImplementedError


@hookspec
def eventual_configure_codec(codec: Codec) -> None:
    """Teach the JSON codec about types that a plugin's users send as payloads.

    Called once for each codec the runtime creates, after every plugin has been
    registered. Implementations call ``codec.register(type_, encode, decode)``;
    they must not replace what another plugin registered.

    Args:
        codec: The codec being set up; payloads are encoded with it once every
            implementation has returned.
    """
    raise NotImplementedError


@hookspec
def eventual_cli_commands() -> Sequence[object]:
    """Contribute subcommands to the ``eventual`` command line.

    Returns:
        Click commands (``click.Command`` objects; typed as ``object`` because core
        does not depend on click). The results of all plugins are concatenated, in
        call order; the CLI adds each under its own name.
    """
    raise NotImplementedError


@hookspec
def eventual_config_defaults() -> Mapping[str, object] | None:
    """Contribute default settings, used where the project does not say otherwise.

    Keys are those of ``[tool.eventual]`` (``service``, ``backend``,
    ``event_bus``, ``db``, or any other key, which lands in
    ``EventualConfig.options``). The project's ``pyproject.toml``, then environment
    variables, then CLI flags override these defaults.

    Returns:
        The settings this plugin proposes, or ``None`` for none. The mappings of
        all plugins are merged key by key; where two plugins set the same key, the
        one registered later wins (so an installed plugin overrides a built-in
        default).
    """
    raise NotImplementedError
