"""One connection pool per backend or bus, and transactions that retry a lost race.

Every table lives in one PostgreSQL schema (``eventual`` by default), so several
services, or the tests, can share a database without seeing each other. The
pool sets each connection's ``search_path`` to that schema once, when it
connects, so statements name tables without qualifying them.

Connections run in autocommit mode: a single statement is its own transaction
and needs no ``BEGIN``/``COMMIT`` round trips; writes that touch several rows
use :meth:`Database.atomic` (one pipeline, one implicit transaction, one
round trip) or, when they need an answer half-way, :meth:`Database.transaction`;
both retry the rare deadlock that two commits locking rows in different orders
can cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final, TypeVar

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from eventual import EventualError

__all__ = [
    "NOTIFY_CHANNEL",
    "Connection",
    "Database",
    "DatabaseClosed",
    "advisory_key",
    "check_schema_name",
    "pipelined",
]

Connection = psycopg.AsyncConnection[tuple[object, ...]]
ResultT = TypeVar("ResultT")

_RETRIES: Final = 5
_ANNOUNCE_TIMEOUT: Final = 5.0
_NOTIFY: Final = "SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) AS payload"

NOTIFY_CHANNEL: Final = "eventual"
"""The channel on which work is announced, each payload ``"<schema> <loop>"`` (or
``"<schema> orchestrator <holder>"``)."""

log = logging.getLogger("eventual.postgres")
_SCHEMA_NAME_LIMIT: Final = 63  # PostgreSQL's identifier length


class DatabaseClosed(EventualError):
    """The backend or bus was closed; open a new one to go on."""


def check_schema_name(schema: str) -> str:
    """Return ``schema`` if it is a usable schema name.

    Raises:
        EventualError: It is empty, too long, or has characters other than
            letters, digits and underscores.
    """
    if (
        not schema
        or len(schema) > _SCHEMA_NAME_LIMIT
        or not all(c.isascii() and (c.isalnum() or c == "_") for c in schema)
        or schema[0].isdigit()
    ):
        raise EventualError(
            f"postgres_schema must be letters, digits and underscores (at most 63, not "
            f"starting with a digit), got {schema!r}"
        )
    return schema


def advisory_key(*parts: str) -> int:
    """Return a signed 64-bit advisory lock key naming ``parts`` (stable across processes)."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Database:
    """A pool of autocommit connections whose ``search_path`` is one schema.

    Args:
        dsn: A libpq connection string or URL (``postgresql://user@host/db``).
        schema: The schema holding the tables.
        max_size: Most connections open at once.
    """

    def __init__(self, dsn: str, *, schema: str, max_size: int) -> None:
        self.dsn = dsn
        self.schema = check_schema_name(schema)
        self._set_path = sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema))
        self._pool = AsyncConnectionPool(
            dsn,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True},
            configure=self._configure,
            name=f"eventual-{self.schema}",
        )
        self._opened = False
        self._closed = False
        self._lock = asyncio.Lock()
        self._announced: set[str] = set()
        self._to_announce = asyncio.Event()
        self._announcer: asyncio.Task[None] | None = None

    async def _configure(self, conn: Connection) -> None:
        await conn.execute(self._set_path)

    async def open(self, prepare: Callable[[Connection], Awaitable[None]]) -> None:
        """Open the pool and run ``prepare`` once on one connection (idempotent).

        Raises:
            DatabaseClosed: :meth:`close` was called.
            psycopg.OperationalError: The server cannot be reached.
        """
        async with self._lock:
            if self._closed:
                raise DatabaseClosed(f"the database of schema {self.schema!r} is closed")
            if self._opened:
                return
            await self._pool.open(wait=True, timeout=30.0)
            try:
                async with self._pool.connection() as conn:
                    await prepare(conn)
            except BaseException:
                await self._pool.close()
                raise
            self._opened = True

    async def close(self) -> None:
        """Close every connection (idempotent); later calls raise ``DatabaseClosed``."""
        async with self._lock:
            self._closed = True
            if self._opened:
                self._opened = False
                announcer, self._announcer = self._announcer, None
                if announcer is not None:
                    # It sends what is left, then ends (the flag is seen after the send).
                    self._to_announce.set()
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(announcer, _ANNOUNCE_TIMEOUT)
                await self._pool.close()

    def announce(self, *loops: str) -> None:
        """Tell the engines of every process (``LISTEN``) that work for ``loops`` was committed.

        Call it after the commit, so that a woken engine finds the work. The
        notifications go out in the background, coalesced: loops announced
        while a notification is being sent are sent together next, once each.
        Each goes in a transaction of its own that writes nothing: PostgreSQL
        serializes the commits of transactions that notify, and one that wrote
        rows would hold that line through the flush of its commit.
        """
        if not self._opened or not loops:
            return
        self._announced.update(loops)
        self._to_announce.set()
        if self._announcer is None or self._announcer.done():
            self._announcer = asyncio.create_task(
                self._announce_loop(), name=f"eventual-{self.schema} announcer"
            )

    async def _announce_loop(self) -> None:
        while True:
            await self._to_announce.wait()
            self._to_announce.clear()
            loops = sorted(self._announced)
            self._announced.clear()
            if loops:
                try:
                    async with self._pool.connection(timeout=_ANNOUNCE_TIMEOUT) as conn:
                        await conn.execute(
                            _NOTIFY, (NOTIFY_CHANNEL, [f"{self.schema} {loop}" for loop in loops])
                        )
                except (psycopg.Error, PoolTimeout):
                    # Engines still find the work at their next poll.
                    log.warning(
                        "eventual could not announce work on %s", self.schema, exc_info=True
                    )
            if not self._opened:
                return

    async def _ready(self) -> None:
        if not self._opened:
            if self._closed:
                raise DatabaseClosed(f"the database of schema {self.schema!r} is closed")
            raise DatabaseClosed(f"the database of schema {self.schema!r} is not open yet")

    async def run(self, work: Callable[[Connection], Awaitable[ResultT]]) -> ResultT:
        """Run ``work`` on a connection, each statement its own transaction."""
        await self._ready()
        async with self._pool.connection() as conn:
            return await work(conn)

    async def atomic(self, work: Callable[[Connection], Awaitable[ResultT]]) -> ResultT:
        """Send ``work``'s statements as one pipeline, which the server runs as one transaction.

        A pipeline's statements up to its ``Sync`` form one implicit transaction
        on an autocommit connection: an error in any of them (a failed check
        raised by the server, a unique violation) rolls them all back. So a
        commit costs one round trip instead of three (``BEGIN``, the statements,
        ``COMMIT``). ``work`` must not read a result before it returns (reading
        sends a ``Sync``, which would commit what came before); its results are
        read after. A deadlock rolls it back and runs it again.
        """
        await self._ready()
        for attempt in range(_RETRIES):
            try:
                async with self._pool.connection() as conn:
                    return await pipelined(conn, work)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt == _RETRIES - 1:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    async def transaction(
        self, work: Callable[[Connection], Awaitable[ResultT]], *, pipeline: bool = False
    ) -> ResultT:
        """Run ``work`` in one transaction; a deadlock rolls it back and runs it again.

        An exception raised by ``work`` rolls the transaction back and propagates.
        With ``pipeline``, the transaction runs in a pipeline: ``BEGIN`` goes
        with the first statement, statements whose answer ``work`` does not
        read go with the next one it reads, and ``COMMIT`` with the last
        writes, so a transaction costs one round trip per answer read plus one.
        """
        await self._ready()
        for attempt in range(_RETRIES):
            try:
                async with self._pool.connection() as conn:
                    if pipeline:
                        return await _pipelined_transaction(conn, work)
                    async with conn.transaction():
                        return await work(conn)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt == _RETRIES - 1:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover


@contextlib.asynccontextmanager
async def _unprepared(conn: Connection) -> AsyncIterator[None]:
    """Send the block's statements unprepared (automatic preparation off in it).

    psycopg prepares a statement on its sixth run on a connection
    (``prepare_threshold``). In a pipeline it records the statement as prepared
    when it sends the ``Parse``, and does not check the server's answer to it
    (psycopg 3.3.9 and earlier). After a failed statement, as a lost race or a
    taken key makes one, the server skips what follows up to the ``Sync``, that
    ``Parse`` too: every later run of the statement on the connection would
    fail with ``prepared statement "_pg3_N" does not exist``. So a pipeline
    prepares nothing. Its statements share their round trip already; statements
    run outside a pipeline (the reads) are still prepared, and used there.
    """
    threshold = conn.prepare_threshold
    conn.prepare_threshold = None
    try:
        yield
    finally:
        conn.prepare_threshold = threshold


async def pipelined(conn: Connection, work: Callable[[Connection], Awaitable[ResultT]]) -> ResultT:
    """Run ``work`` in a pipeline of ``conn``; raise the server's error, if any, as it came.

    psycopg raises a statement's error as soon as its answer arrives, maybe
    while ``work`` still sends; the pipeline's end then fails too ("pipeline
    aborted"). Only the first error says what went wrong, so it is kept and
    raised once the pipeline is closed.
    """
    failure: psycopg.Error | None = None
    try:
        async with _unprepared(conn), conn.pipeline():
            try:
                result = await work(conn)
            except psycopg.errors.PipelineAborted:
                raise
            except psycopg.DatabaseError as error:
                failure = error
    except psycopg.errors.PipelineAborted:
        if failure is None:
            raise
    if failure is not None:
        raise failure
    return result


async def _pipelined_transaction(
    conn: Connection, work: Callable[[Connection], Awaitable[ResultT]]
) -> ResultT:
    """Run ``work`` in a transaction inside a pipeline; raise the first error the server gave.

    After a failed statement, psycopg reports every later one, and the
    pipeline's end, as "pipeline aborted": only the first error says what went
    wrong (a deadlock to retry, a unique violation), so that one is raised.
    """
    failure: psycopg.DatabaseError | None = None
    try:
        async with _unprepared(conn), conn.pipeline(), conn.transaction():
            try:
                result = await work(conn)
            except psycopg.DatabaseError as error:
                failure = error
                raise
    except psycopg.DatabaseError as error:
        raise (failure or error) from None
    return result
