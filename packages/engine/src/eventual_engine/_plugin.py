"""The engine's built-in plugin: the ``memory`` and ``sqlite`` backends.

Registered through the ``eventual`` entry-point group like any third-party
backend, so choosing a backend is configuration, never an import.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eventual import EventualError
from eventual.plugins import BackendProvider, EventualConfig, hookimpl

from ._memory import MemoryBackend

__all__ = ["DEFAULT_DB", "eventual_backend_providers"]

#: Where ``eventual local`` and ``LocalRuntime`` keep state when no path is given.
DEFAULT_DB = Path(".eventual") / "local.db"


def _memory(config: EventualConfig) -> MemoryBackend:
    return MemoryBackend()


def _sqlite(config: EventualConfig) -> object:
    from ._sqlite import SqliteBackend

    path = Path(config.db) if config.db else DEFAULT_DB
    if config.config_file is not None and not path.is_absolute():
        path = config.config_file.parent / path
    synchronous = str(config.options.get("sqlite_synchronous", "NORMAL")).upper()
    read_only = str(config.options.get("sqlite_read_only", "false")).lower()
    if read_only not in ("true", "false"):
        raise EventualError(f"sqlite_read_only must be true or false, got {read_only!r}")
    if synchronous == "FULL":
        return SqliteBackend(path, synchronous="FULL", read_only=read_only == "true")
    if synchronous == "NORMAL":
        return SqliteBackend(path, synchronous="NORMAL", read_only=read_only == "true")
    raise EventualError(
        f"sqlite_synchronous must be NORMAL or FULL, got {synchronous!r} "
        "(set it in [tool.eventual] or pass it in the configuration options)"
    )


@hookimpl
def eventual_backend_providers() -> Sequence[BackendProvider]:
    """Contribute the ``memory`` and ``sqlite`` backends."""
    return [
        BackendProvider(
            name="memory",
            description="in-process dictionaries; state is lost when the process ends (tests)",
            create=_memory,
        ),
        BackendProvider(
            name="sqlite",
            description="one SQLite file in WAL mode, safe for several processes (the default)",
            create=_sqlite,
        ),
    ]
