"""``PostgresBackend``: the whole SPI on one PostgreSQL schema, shared by many machines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Final

from eventual import EventualError
from eventual.history import PublishedEvent
from eventual.spi import holder_gone, load_published

from .._database import Connection, Database
from .._listen import listen
from ._executions import PostgresExecutions
from ._idempotency import PostgresIdempotency
from ._logs import PostgresLogs
from ._queue import PostgresQueue
from ._schema import migrate
from ._tasks import PostgresTasks
from ._timers import PostgresTimers
from ._wakes import Holding, WakeRouter
from ._writes import NOW

__all__ = ["DEFAULT_AFFINITY", "DEFAULT_SCHEMA", "PostgresBackend"]

DEFAULT_SCHEMA: Final = "eventual"
"""The schema holding the tables unless ``postgres_schema`` names another."""

DEFAULT_AFFINITY: Final = timedelta(seconds=2)
"""How long a claim leaves an execution to its holder unless ``affinity`` says otherwise."""

_LEASED: Final = ("queue_claims", "tasks", "timers")


async def release_dead_holders(conn: Connection) -> int:
    """Expire the live leases whose holder is certainly gone (a dead process on this machine).

    Returns:
        How many leases were released.
    """
    owners: set[str] = set()
    for table in _LEASED:
        cursor = await conn.execute(
            f"SELECT DISTINCT owner FROM {table} WHERE owner IS NOT NULL AND until > {NOW}"
        )
        owners.update(str(owner) for (owner,) in await cursor.fetchall())
    dead = sorted(owner for owner in owners if holder_gone(owner))
    if not dead:
        return 0
    released = 0
    async with conn.transaction():
        for table in _LEASED:
            cursor = await conn.execute(
                f"UPDATE {table} SET until = 0 WHERE owner = ANY(%s)", (dead,)
            )
            released += cursor.rowcount
    return released


class PostgresBackend:
    """Every backend protocol, stored in one schema of a PostgreSQL database.

    Several processes on several machines may share one database: every commit
    is conditional (on the history length and the batch's lease), claims take
    rows with ``FOR UPDATE SKIP LOCKED``, leases expire by the server's clock,
    and :meth:`watch` wakes an engine when another process adds work for it
    (``LISTEN``/``NOTIFY``). When the backend opens, leases held by a process of
    this machine that no longer runs are released at once, so a restart after a
    crash resumes that work without waiting for them to lapse.

    Creating the object connects to nothing. :meth:`open` opens the connection
    pool and creates or migrates the schema (under an advisory lock, so
    processes starting together migrate once). Use ``async with`` or call
    :meth:`close`::

        async with PostgresBackend("postgresql://app@db.internal/orders") as backend:
            ...

    Args:
        dsn: A libpq connection string or URL.
        schema: The schema holding the tables (created when missing), so that
            several services can share one database.
        pool_size: Most connections this backend opens at once.
        affinity: How long a claim leaves an execution to the process that
            committed its last step (which holds its live instance, so applies a
            signal without replaying the history): once its oldest queued
            message has waited this long, any process takes it. Zero leaves
            nothing to the holder. Configured as ``postgres-affinity-seconds``.

    Raises:
        EventualError: ``schema`` is not a plain identifier, or ``affinity`` is negative.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        pool_size: int = 10,
        affinity: timedelta = DEFAULT_AFFINITY,
    ) -> None:
        if affinity < timedelta(0):
            raise EventualError(f"affinity must not be negative, got {affinity!r}")
        self._affinity = affinity
        self._db = Database(dsn, schema=schema, max_size=pool_size)
        self._holding = Holding()  # whom wake-ups naming a holder are for (``watch``)
        self._executions = PostgresExecutions(self._db, self._holding)
        self._queue = PostgresQueue(self._db, affinity, self._holding)
        self._timers = PostgresTimers(self._db)
        self._tasks = PostgresTasks(self._db, self._holding)
        self._idempotency = PostgresIdempotency(self._db)
        self._logs = PostgresLogs(self._db)

    def __repr__(self) -> str:
        return f"PostgresBackend(schema={self._db.schema!r})"

    @property
    def schema(self) -> str:
        """The schema holding the tables."""
        return self._db.schema

    @property
    def affinity(self) -> timedelta:
        """How long a claim leaves an execution to the process holding its live instance."""
        return self._affinity

    @property
    def executions(self) -> PostgresExecutions:
        """Execution records and histories."""
        return self._executions

    @property
    def queue(self) -> PostgresQueue:
        """Inbound messages per execution."""
        return self._queue

    @property
    def timers(self) -> PostgresTimers:
        """Durable timers."""
        return self._timers

    @property
    def tasks(self) -> PostgresTasks:
        """Task attempts."""
        return self._tasks

    @property
    def idempotency(self) -> PostgresIdempotency:
        """Answers kept under idempotency keys."""
        return self._idempotency

    @property
    def logs(self) -> PostgresLogs:
        """Log lines of workflow code and task bodies, per execution."""
        return self._logs

    async def open(self) -> PostgresBackend:
        """Connect, and create or migrate the schema if needed (idempotent).

        Returns:
            The backend itself, so ``backend = await PostgresBackend(dsn).open()`` works.

        Raises:
            SchemaVersionError: The schema was migrated by a newer eventual-postgres.
            psycopg.OperationalError: The server cannot be reached.
        """

        async def prepare(conn: Connection) -> None:
            await migrate(conn, self._db.schema)
            await release_dead_holders(conn)

        await self._db.open(prepare)
        return self

    async def close(self) -> None:
        """Close the connections; later calls raise ``DatabaseClosed`` (idempotent)."""
        await self._db.close()

    async def __aenter__(self) -> PostgresBackend:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def watch(self, wake: Callable[[str], None]) -> None:
        """Call ``wake(loop)`` whenever any process adds work for ``loop``, until cancelled.

        ``loop`` is ``"orchestrator"`` (messages queued or a claim released),
        ``"tasks"`` (unclaimed attempts dispatched) or ``"timers"`` (timers
        scheduled). On every (re)connection all loops are woken once, since
        notifications sent while nobody listened are lost (and the
        orchestrator once more ``affinity`` later, when messages another
        process held then are anyone's). Messages queued for an execution
        another process holds wake the orchestrator only once they are
        anyone's, ``affinity`` after they came (plus a margin).
        """
        router = WakeRouter(wake, self._holding, self._affinity.total_seconds())
        try:
            await listen(self._db.dsn, self._db.schema, router, connected=router.connected)
        finally:
            router.close()

    async def published(self, limit: int) -> list[tuple[str, PublishedEvent]]:
        """Return up to ``limit`` published events not yet acknowledged, oldest first.

        Ids are ``"{execution_id}|{n}"``, unique for the life of the schema.
        """
        if limit <= 0:
            return []

        async def run(conn: Connection) -> list[tuple[str, PublishedEvent]]:
            cursor = await conn.execute(
                "SELECT seq, execution_id, event FROM outbox ORDER BY seq LIMIT %s", (limit,)
            )
            return [
                (f"{execution_id}|{seq}", load_published(str(text)))
                for seq, execution_id, text in await cursor.fetchall()
            ]

        return await self._db.run(run)

    async def ack_published(self, ids: Sequence[str]) -> None:
        """Remove delivered events from the outbox; unknown ids are ignored."""
        numbers: list[int] = []
        executions: list[str] = []
        for id_ in ids:
            execution, _, number = id_.rpartition("|")
            if number.isascii() and number.isdigit():
                numbers.append(int(number))
                executions.append(execution)
        if not numbers:
            return

        async def run(conn: Connection) -> None:
            await conn.execute(
                "DELETE FROM outbox USING unnest(%s::bigint[], %s::text[]) AS acked(seq, id) "
                "WHERE outbox.seq = acked.seq AND outbox.execution_id = acked.id",
                (numbers, executions),
            )

        await self._db.run(run)
