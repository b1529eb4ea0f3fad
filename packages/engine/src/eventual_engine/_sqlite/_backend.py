"""``SqliteBackend``: the whole SPI in one SQLite file, safe for several processes."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from types import TracebackType

from eventual.history import PublishedEvent
from eventual.sqlite import Database, Synchronous

from .._ids import outbox_id, parse_outbox_id
from ._convert import load_published
from ._executions import SqliteExecutions
from ._holders import release_dead_holders
from ._idempotency import SqliteIdempotency
from ._logs import SqliteLogs
from ._queue import SqliteQueue
from ._schema import check_readable, migrate
from ._tasks import SqliteTasks
from ._timers import SqliteTimers

__all__ = ["SqliteBackend"]


def _prepare(conn: sqlite3.Connection, path: str) -> None:
    migrate(conn, path)
    # A process restarted after a crash resumes the dead one's claims at once.
    release_dead_holders(conn)


class SqliteBackend:
    """Every backend protocol, stored in one SQLite database file.

    The embedded default backend. It keeps the in-memory backend's contract
    (conditional commits, leases, at-least-once timers and tasks) and adds
    durability; several processes may use the same file at once, since every
    claim and commit is a conditional write in a ``BEGIN IMMEDIATE`` transaction
    and leases expire by wall-clock time (``time.time()``). When the file is
    opened, leases held by a process of this machine that no longer runs are
    released at once (see ``eventual.spi.holder_gone``), so a restart after a
    crash resumes that work without waiting for them to lapse.

    Creating the object touches nothing. The file, its parent directory and the
    schema are created by :meth:`open`, or by the first call that needs the
    database if :meth:`open` was not awaited (so a synchronous factory can build
    the backend). Calls run on one dedicated thread that owns the connection, so
    they never block the event loop; concurrent writes are grouped into one
    transaction. Call :meth:`close` when done, or use ``async with``::

        async with SqliteBackend("data/eventual.db") as backend:
            ...

    Durability (``synchronous``):

    - ``"NORMAL"`` (default): in WAL mode a commit is safe once the call returns
      even if the *process* crashes or is killed; a power loss or OS crash may
      undo the last few commits (never corrupt the file). Fastest.
    - ``"FULL"``: every transaction is also fsync'ed before the call returns, so
      a commit survives power loss too; each transaction costs a disk flush.

    Args:
        path: The database file; ``":memory:"`` for a private in-memory database.
        busy_timeout: Seconds to wait for another process's write lock before a
            call fails with ``sqlite3.OperationalError`` ("database is locked").
        synchronous: ``"NORMAL"`` or ``"FULL"`` (see above).
        read_only: Open an existing file for reading only (SQLite's ``mode=ro``):
            every write fails, the schema is never migrated, and nothing is
            created. What ``eventual replay --db`` uses.

    Raises:
        ValueError: ``synchronous`` or ``busy_timeout`` is invalid.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 10.0,
        synchronous: Synchronous = "NORMAL",
        read_only: bool = False,
    ) -> None:
        self._db = Database(
            os.fspath(path),
            busy_timeout=busy_timeout,
            synchronous=synchronous,
            prepare=check_readable if read_only else _prepare,
            read_only=read_only,
        )
        self._executions = SqliteExecutions(self._db)
        self._queue = SqliteQueue(self._db)
        self._timers = SqliteTimers(self._db)
        self._tasks = SqliteTasks(self._db)
        self._idempotency = SqliteIdempotency(self._db)
        self._logs = SqliteLogs(self._db)

    def __repr__(self) -> str:
        return f"SqliteBackend({self._db.path!r})"

    @property
    def path(self) -> str:
        """The database file."""
        return self._db.path

    @property
    def logs(self) -> SqliteLogs:
        """Log entries per execution."""
        return self._logs

    @property
    def executions(self) -> SqliteExecutions:
        """Execution records and histories."""
        return self._executions

    @property
    def queue(self) -> SqliteQueue:
        """Inbound messages per execution."""
        return self._queue

    @property
    def timers(self) -> SqliteTimers:
        """Durable timers."""
        return self._timers

    @property
    def tasks(self) -> SqliteTasks:
        """Task attempts."""
        return self._tasks

    @property
    def idempotency(self) -> SqliteIdempotency:
        """Answers kept under idempotency keys."""
        return self._idempotency

    async def open(self) -> SqliteBackend:
        """Create the file, its directory and the schema if needed (idempotent).

        Returns:
            The backend itself, so ``backend = await SqliteBackend(path).open()`` works.

        Raises:
            SchemaVersionError: The file was written by a newer eventual-engine.
            sqlite3.DatabaseError: The file is not a database, or cannot be opened.
        """
        await self._db.read(lambda conn: None)
        return self

    async def close(self) -> None:
        """Finish pending calls and close the connection; later calls raise (idempotent)."""
        await self._db.close()

    async def __aenter__(self) -> SqliteBackend:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def published(self, limit: int) -> list[tuple[str, PublishedEvent]]:
        """Return up to ``limit`` published events not yet acknowledged, oldest first.

        Ids are ``"{execution_id}|{n}"``, unique for the life of the file.
        """
        if limit <= 0:
            return []

        def run(conn: sqlite3.Connection) -> list[tuple[str, PublishedEvent]]:
            rows = conn.execute(
                "SELECT seq, execution_id, event FROM outbox ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
            return [
                (outbox_id(execution_id, seq), load_published(text))
                for seq, execution_id, text in rows
            ]

        return await self._db.read(run)

    async def ack_published(self, ids: Sequence[str]) -> None:
        """Remove delivered events from the outbox; unknown ids are ignored."""
        keys: list[tuple[int, str]] = []
        for id_ in ids:
            parsed = parse_outbox_id(id_)
            if parsed is not None:
                keys.append((parsed[1], parsed[0]))
        if keys:
            await self._db.write(
                lambda conn: conn.executemany(
                    "DELETE FROM outbox WHERE seq = ? AND execution_id = ?", keys
                )
            )
