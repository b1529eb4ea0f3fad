"""``SqliteBus``: the durable local event bus."""

from __future__ import annotations

import os

from eventual.sqlite import synchronous_level

from .._bus import LocalBus
from .._delivery import BusOptions
from ._store import SqliteStore

__all__ = ["SqliteBus"]


class SqliteBus(LocalBus):
    """The durable local event bus: one SQLite file in WAL mode, shared by processes.

    The default bus of ``LocalRuntime`` and ``eventual local``. Events, routes,
    deliveries and dead letters live in ``bus_*`` tables, in the same file as the
    engine's tables or in a file of their own that several services share (each
    service in its own process receives the events the others publish). Deliveries
    survive a restart; a delivery claimed by a process that died runs again once
    its lease lapses.

    Args:
        path: The database file (created with its directory if missing).
        options: Leases and batch size.
        busy_timeout: Seconds to wait for another process's write lock.
        synchronous: ``"NORMAL"`` (survives a process crash; the default) or
            ``"FULL"`` (also survives power loss, an fsync per transaction).

    Raises:
        ValueError: ``synchronous`` or ``busy_timeout`` is invalid.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        options: BusOptions | None = None,
        busy_timeout: float = 10.0,
        synchronous: str = "NORMAL",
    ) -> None:
        level = synchronous_level(synchronous)
        if busy_timeout < 0:
            raise ValueError(f"busy_timeout must be >= 0 seconds, got {busy_timeout!r}")
        self._path = os.fspath(path)
        super().__init__(
            SqliteStore(
                self._path,
                busy_timeout=busy_timeout,
                synchronous=level,
            ),
            options,
        )

    def __repr__(self) -> str:
        return f"SqliteBus({self._path!r})"

    @property
    def path(self) -> str:
        """The database file."""
        return self._path
