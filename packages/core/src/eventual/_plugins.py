"""The plugin host: markers, the plugin-manager factory and typed access to hooks.

Nothing here runs at import time. ``get_plugin_manager()`` builds a new manager on
each call, so two runtimes (or two tests) in one process never share plugins, and a
test can turn entry-point loading off with ``EVENTUAL_DISABLE_PLUGIN_AUTOLOAD``
instead of a global switch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

import attrs
import pluggy

from ._errors import EventualError

if TYPE_CHECKING:
    from ._bus import EventBus
    from ._codec import Codec
    from ._config import EventualConfig
    from ._spi import Backend

__all__ = [
    "AUTOLOAD_ENV_VAR",
    "BackendProvider",
    "DeployTarget",
    "ENTRY_POINT_GROUP",
    "EventBusProvider",
    "PluginInfo",
    "Plugins",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
]

PROJECT_NAME = "eventual"
ENTRY_POINT_GROUP = "eventual"
AUTOLOAD_ENV_VAR = "EVENTUAL_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_PLUGIN_NAME = "eventual.builtin"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a function of ``eventual.hookspecs`` as a hook specification."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's function as the implementation of the hook of the same name."""


@attrs.frozen(kw_only=True)
class BackendProvider:
    """A runtime backend that a plugin offers, chosen by ``name`` in configuration.

    Attributes:
        name: What users write in ``backend = "..."``, e.g. ``"sqlite"``.
        description: One line shown when backends are listed.
        create: Builds the backend from the loaded configuration; the caller
            opens it (``await backend.open()``) and closes it.
    """

    name: str
    description: str
    create: Callable[[EventualConfig], Backend]


@attrs.frozen(kw_only=True)
class EventBusProvider:
    """An event bus that a plugin offers, chosen by ``name`` in configuration.

    Attributes:
        name: What users write in ``event_bus = "..."``.
        description: One line shown when event buses are listed.
        create: Builds the bus from the loaded configuration; the caller opens
            it (``await bus.open()``) and closes it.
    """

    name: str
    description: str
    create: Callable[[EventualConfig], EventBus]


@attrs.frozen(kw_only=True)
class DeployTarget:
    """A way to deploy a service that a plugin offers.

    Attributes:
        name: The target's name, e.g. ``"aws-cdk"``.
        description: One line shown when targets are listed.
        synthesize: Turns a discovered service (first argument) and target
            settings (second argument) into the target's artifact.
    """

    name: str
    description: str
    synthesize: Callable[[object, Mapping[str, object]], object]


@attrs.frozen(kw_only=True)
class PluginInfo:
    """One registered plugin, as shown to a user checking what was found.

    Attributes:
        name: The name the plugin is registered under (the entry-point name for
            plugins loaded from entry points).
        distribution: The distribution that declared the entry point, or ``None``
            for plugins registered in code.
        version: That distribution's version, or ``None``.
        hooks: The hooks the plugin implements, sorted.
    """

    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]


def get_plugin_manager(
    *, autoload: bool | None = None, plugins: Sequence[object] = ()
) -> pluggy.PluginManager:
    """Create a plugin manager with core's built-in plugin and the installed plugins.

    Each call returns a new manager. Plugins are registered in priority order, the
    last registered being called first: core's built-in plugin, then the
    ``eventual`` entry points of installed distributions, then ``plugins``.

    Args:
        autoload: Whether to load entry points. ``None`` (the default) loads them
            unless the ``EVENTUAL_DISABLE_PLUGIN_AUTOLOAD`` environment variable is
            set to a non-empty value.
        plugins: Extra plugin objects (modules, classes or instances) to register,
            e.g. from a test or an application embedding eventual.

    Returns:
        The manager, with every implementation checked against the hookspecs.

    Raises:
        EventualError: A plugin failed to import or implements a hook that does
            not exist (e.g. a misspelled name).
    """
    # Imported here because both modules import this one for the markers.
    from . import _builtin_plugin, hookspecs

    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(_builtin_plugin, name=BUILTIN_PLUGIN_NAME)
    if autoload is None:
        autoload = not os.environ.get(AUTOLOAD_ENV_VAR)
    if autoload:
        try:
            manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as error:
            raise EventualError(
                f"Loading a plugin from the {ENTRY_POINT_GROUP!r} entry-point group failed: "
                f"{error}. Fix or uninstall that plugin, or set {AUTOLOAD_ENV_VAR}=1 to "
                "start without installed plugins."
            ) from error
    for plugin in plugins:
        manager.register(plugin)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as error:
        raise EventualError(
            f"A plugin implements a hook that eventual does not define: {error}. "
            "Check the function's name against eventual.hookspecs."
        ) from error
    return manager


class Plugins:
    """Typed access to what the registered plugins contribute.

    The rest of eventual goes through this class rather than calling ``pm.hook``
    directly, so hook results are validated (and errors worded) in one place.

    Example::

        plugins = Plugins(get_plugin_manager())
        backend = plugins.backend(config.backend).create(config)
    """

    def __init__(self, manager: pluggy.PluginManager) -> None:
        """Wrap a plugin manager.

        Args:
            manager: Usually the result of ``get_plugin_manager()``.
        """
        self._manager = manager

    @property
    def manager(self) -> pluggy.PluginManager:
        """The wrapped plugin manager."""
        return self._manager

    def backends(self) -> dict[str, BackendProvider]:
        """Return the runtime backends of all plugins, by name.

        Raises:
            EventualError: A plugin returned something other than backend providers,
                or two plugins provide a backend with the same name.
        """
        results = self._manager.hook.eventual_backend_providers()
        return _by_name(results, BackendProvider, "eventual_backend_providers", "backend")

    def backend(self, name: str) -> BackendProvider:
        """Return the runtime backend called ``name``.

        Raises:
            EventualError: No plugin provides it; the message lists those that exist.
        """
        hint = "set [tool.eventual] backend or EVENTUAL_BACKEND to one of these"
        return _lookup(self.backends(), name, "backend", hint)

    def event_buses(self) -> dict[str, EventBusProvider]:
        """Return the event buses of all plugins, by name.

        Raises:
            EventualError: A plugin returned something other than event bus
                providers, or two plugins provide a bus with the same name.
        """
        results = self._manager.hook.eventual_event_bus_providers()
        return _by_name(results, EventBusProvider, "eventual_event_bus_providers", "event bus")

    def event_bus(self, name: str) -> EventBusProvider:
        """Return the event bus called ``name``.

        Raises:
            EventualError: No plugin provides it; the message lists those that exist.
        """
        hint = "set [tool.eventual] event_bus or EVENTUAL_EVENT_BUS to one of these"
        return _lookup(self.event_buses(), name, "event bus", hint)

    def deploy_targets(self) -> dict[str, DeployTarget]:
        """Return the deploy targets of all plugins, by name.

        Raises:
            EventualError: A plugin returned something other than deploy targets, or
                two plugins provide a target with the same name.
        """
        results = self._manager.hook.eventual_deploy_targets()
        return _by_name(results, DeployTarget, "eventual_deploy_targets", "deploy target")

    def deploy_target(self, name: str) -> DeployTarget:
        """Return the deploy target called ``name``.

        Raises:
            EventualError: No plugin provides it; the message lists those that exist.
        """
        return _lookup(self.deploy_targets(), name, "deploy target", "choose one of these")

    def cli_commands(self) -> list[object]:
        """Return the CLI commands of all plugins, concatenated in call order.

        Raises:
            EventualError: A plugin returned something other than a sequence.
        """
        results = self._manager.hook.eventual_cli_commands()
        return list(_flatten(results, "eventual_cli_commands"))

    def config_defaults(self) -> dict[str, object]:
        """Return the plugins' default settings, merged (later registered wins).

        Raises:
            EventualError: A plugin returned something other than a mapping with
                string keys.
        """
        merged: dict[str, object] = {}
        # pluggy returns results in call order, most recently registered first;
        # applying them in reverse lets the later-registered plugin win.
        for result in reversed(self._manager.hook.eventual_config_defaults()):
            if not isinstance(result, Mapping) or not all(isinstance(k, str) for k in result):
                raise EventualError(
                    "eventual_config_defaults must return a mapping with string keys "
                    f"(or None), a plugin returned {result!r}."
                )
            merged.update(result)
        return merged

    def configure_codec(self, codec: Codec) -> None:
        """Let every plugin register its custom types on ``codec``."""
        self._manager.hook.eventual_configure_codec(codec=codec)

    def installed(self) -> list[PluginInfo]:
        """Describe every registered plugin, in registration order."""
        distributions = {
            id(plugin): (dist.project_name, str(dist.version))
            for plugin, dist in self._manager.list_plugin_distinfo()
        }
        infos = []
        for name, plugin in self._manager.list_name_plugin():
            distribution, version = distributions.get(id(plugin), (None, None))
            callers = self._manager.get_hookcallers(plugin) or []
            infos.append(
                PluginInfo(
                    name=name,
                    distribution=distribution,
                    version=version,
                    hooks=tuple(sorted(caller.name for caller in callers)),
                )
            )
        return infos


_Named = TypeVar("_Named", BackendProvider, EventBusProvider, DeployTarget)


def _flatten(results: Iterable[object], hook: str) -> Iterable[object]:
    for result in results:
        # A plugin returning one provider instead of a list of one is the likely
        # mistake; strings are sequences too, and never what a plugin meant.
        if not isinstance(result, Sequence) or isinstance(result, str):
            raise EventualError(
                f"{hook} must return a list (or None), a plugin returned {result!r}."
            )
        yield from result


def _by_name(
    results: Iterable[object], kind: type[_Named], hook: str, what: str
) -> dict[str, _Named]:
    found: dict[str, _Named] = {}
    for item in _flatten(results, hook):
        if not isinstance(item, kind):
            raise EventualError(
                f"{hook} must return {kind.__name__} values, a plugin returned {item!r}."
            )
        if item.name in found:
            raise EventualError(
                f"Two plugins provide a {what} named {item.name!r} "
                f"({_origin(found[item.name])} and {_origin(item)}). "
                "Uninstall one of them."
            )
        found[item.name] = item
    return found


def _origin(item: BackendProvider | EventBusProvider | DeployTarget) -> str:
    # Hook results do not say which plugin returned them; the module of the
    # factory is the best clue for a user deciding which distribution to remove.
    factory = item.synthesize if isinstance(item, DeployTarget) else item.create
    return str(getattr(factory, "__module__", None) or repr(item.description))


def _lookup(found: Mapping[str, _Named], name: str, what: str, hint: str) -> _Named:
    if name in found:
        return found[name]
    available = ", ".join(repr(n) for n in sorted(found)) or "none"
    raise EventualError(
        f"No installed plugin provides a {what} named {name!r}; available: {available}. "
        f"Install the distribution that provides it, or {hint}."
    )
