"""Configuration: which backend, event bus and database a service runs with.

Choosing a backend is configuration, never an import in user code. Settings come in
layers, each overriding the one before:

1. defaults contributed by plugins (``eventual_config_defaults``),
2. ``[tool.eventual]`` in the nearest ``pyproject.toml``,
3. environment variables (``EVENTUAL_SERVICE``, ``EVENTUAL_BACKEND``,
   ``EVENTUAL_EVENT_BUS``, ``EVENTUAL_DB``),
4. overrides from the caller, typically CLI flags.

Only the nearest ``pyproject.toml`` is read, even when it has no ``[tool.eventual]``
table: it marks the project, and inheriting settings from an enclosing project (say,
a monorepo root) would make a service behave differently depending on where it
was checked out.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from ._errors import EventualError

if TYPE_CHECKING:
    from ._plugins import Plugins

__all__ = ["DEFAULT_BACKEND", "ENV_VARS", "EventualConfig", "find_pyproject", "load_config"]

DEFAULT_BACKEND = "sqlite"

ENV_VARS: Mapping[str, str] = {
    "service": "EVENTUAL_SERVICE",
    "backend": "EVENTUAL_BACKEND",
    "event_bus": "EVENTUAL_EVENT_BUS",
    "db": "EVENTUAL_DB",
}
"""The environment variable that sets each named setting."""

_PYPROJECT = "pyproject.toml"
_OPTIONS = "options"


def _copy_options(options: Mapping[str, object]) -> Mapping[str, object]:
    # A copy, so that mutating the mapping a caller passed in cannot change a
    # frozen config after the fact.
    return dict(options)


@attrs.frozen(kw_only=True)
class EventualConfig:
    """The settings a service runs with, as loaded by ``load_config``.

    Attributes:
        service: The service module path (``"orders.service"``), or ``None``.
        backend: The name of the runtime backend, as provided by a plugin's
            ``eventual_backend_providers``.
        event_bus: The name of the event bus, or ``None`` for the backend's own.
        db: Where the backend keeps its data (a path or URL, read by the backend),
            or ``None`` for the backend's default.
        options: Every other setting, for plugins to read (keys of
            ``[tool.eventual]`` that are not fields above, with ``-`` turned
            into ``_``).
        config_file: The ``pyproject.toml`` that was read, or ``None``. Relative
            paths in settings are meant relative to its directory.
    """

    service: str | None = None
    backend: str = DEFAULT_BACKEND
    event_bus: str | None = None
    db: str | None = None
    # Mappings are not hashable; leaving options out of the hash keeps the
    # config usable as a dict key (equal configs still hash equal).
    options: Mapping[str, object] = attrs.field(factory=dict, converter=_copy_options, hash=False)
    config_file: Path | None = None


def find_pyproject(start: Path) -> Path | None:
    """Return the nearest ``pyproject.toml`` in ``start`` or one of its parents.

    Args:
        start: The directory to search from.

    Returns:
        The file's path, or ``None`` when no directory up to the root has one.
    """
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / _PYPROJECT
        if candidate.is_file():
            return candidate
    return None


def load_config(
    project_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
    *,
    plugins: Plugins | None = None,
) -> EventualConfig:
    """Load the configuration of the project in ``project_dir``.

    Args:
        project_dir: Where to start looking for ``pyproject.toml`` (walking up to
            the root); defaults to the current directory.
        env: The environment variables to read; defaults to ``os.environ``. Empty
            values count as unset.
        overrides: Settings that win over everything else, e.g. CLI flags. Keys
            with the value ``None`` are ignored, so flags the user did not give can
            be passed straight through.
        plugins: When given, the plugins' ``eventual_config_defaults`` form the
            lowest layer.

    Returns:
        The merged configuration.

    Raises:
        EventualError: ``project_dir`` is not a directory, ``pyproject.toml`` is not
            valid TOML, or a setting has the wrong type; the message names the key
            and where it came from.
    """
    if project_dir is not None and not project_dir.is_dir():
        raise EventualError(f"Project directory {str(project_dir)!r} does not exist.")
    if env is None:
        env = os.environ
    settings: dict[str, str] = {}
    options: dict[str, object] = {}

    if plugins is not None:
        _merge(
            plugins.config_defaults(), "the plugins' eventual_config_defaults", settings, options
        )

    config_file = find_pyproject(project_dir if project_dir is not None else Path.cwd())
    if config_file is not None:
        table = _read_tool_table(config_file)
        _merge(table, f"[tool.eventual] of {config_file}", settings, options)

    for name, variable in ENV_VARS.items():
        value = env.get(variable)
        if value:
            settings[name] = value

    if overrides is not None:
        given = {key: value for key, value in overrides.items() if value is not None}
        _merge(given, "the overrides", settings, options)

    return EventualConfig(
        service=settings.get("service"),
        backend=settings.get("backend", DEFAULT_BACKEND),
        event_bus=settings.get("event_bus"),
        db=settings.get("db"),
        options=options,
        config_file=config_file,
    )


def _read_tool_table(path: Path) -> Mapping[str, object]:
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise EventualError(f"{path} is not valid TOML: {error}.") from error
    except OSError as error:
        raise EventualError(f"Cannot read {path}: {error}.") from error
    tool = document.get("tool", {})
    table = tool.get("eventual", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise EventualError(
            f"tool.eventual in {path} must be a table ([tool.eventual]), "
            f"got {type(table).__name__}: {table!r}."
        )
    return table


def _merge(
    layer: Mapping[str, object], source: str, settings: dict[str, str], options: dict[str, object]
) -> None:
    seen: dict[str, str] = {}
    for raw_key, value in layer.items():
        # TOML favours kebab-case (like `line-length` in ruff); accept both spellings
        # but refuse a layer that gives both, since one would silently lose.
        key = raw_key.replace("-", "_")
        if key in seen:
            raise EventualError(
                f"{source} sets both {seen[key]!r} and {raw_key!r}; keep one of them."
            )
        seen[key] = raw_key
        if key in ENV_VARS:
            if not isinstance(value, str) or not value:
                raise EventualError(
                    f"{raw_key!r} in {source} must be a non-empty string, "
                    f"got {type(value).__name__}: {value!r}."
                )
            settings[key] = value
        elif key == _OPTIONS:
            if not isinstance(value, Mapping):
                raise EventualError(
                    f"{raw_key!r} in {source} must be a table of settings, "
                    f"got {type(value).__name__}: {value!r}."
                )
            options.update({str(k).replace("-", "_"): v for k, v in value.items()})
        else:
            options[key] = value
