"""The engine's built-in plugin: the ``memory`` and ``sqlite`` backends.

Registered through the ``eventual`` entry-point group like any third-party
backend, so choosing a backend is configuration, never an import.
"""

from __future__ import annotations

from collections.abc import Sequence

from eventual import EventualError
from eventual.plugins import BackendProvider, EventualConfig, hookimpl
from eventual.spi import Backend

from ._memory import MemoryBackend

__all__ = ["eventual_backend_providers"]


def _memory(config: EventualConfig) -> MemoryBackend:
    return MemoryBackend()


def _sqlite(config: EventualConfig) -> Backend:
    # Imported here: registering the plugin must not load sqlite3.
    from eventual.sqlite import database_path, synchronous_setting

    from ._sqlite import SqliteBackend

    read_only = str(config.options.get("sqlite_read_only", "false")).lower()
    if read_only not in ("true", "false"):
        raise EventualError(f"sqlite_read_only must be true or false, got {read_only!r}")
    return SqliteBackend(
        database_path(config),
        synchronous=synchronous_setting(config),
        read_only=read_only == "true",
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
