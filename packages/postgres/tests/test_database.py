"""The connection pool's pipelines: a failed one leaves its connection fit for the next."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import psycopg
import pytest
from psycopg import sql

from eventual_engine.conformance.support import (
    SCHEDULED,
    consume,
    raises_conflict,
    started_and_claimed,
)
from eventual_postgres import PostgresBackend
from eventual_postgres._database import Connection, Database

Work = Callable[[Connection], Awaitable[None]]
Runner = Callable[[Database, Work], Awaitable[None]]

_INSERT = "INSERT INTO items (id) VALUES (%s)"


async def _atomic(db: Database, work: Work) -> None:
    await db.atomic(work)


async def _pipelined_transaction(db: Database, work: Work) -> None:
    await db.transaction(work, pipeline=True)


@pytest.fixture
async def database(postgres_dsn: str, schema: str) -> AsyncIterator[Database]:
    """An open database of one connection, so every call runs on the same one."""

    async def create(conn: Connection) -> None:
        await conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        await conn.execute("CREATE TABLE items (id integer PRIMARY KEY)")

    db = Database(postgres_dsn, schema=schema, max_size=1)
    await db.open(create)
    try:
        yield db
    finally:
        await db.close()


def _insert(key: int) -> Work:
    async def work(conn: Connection) -> None:
        await conn.execute(_INSERT, (key,))

    return work


def _taken_then_insert(key: int) -> Work:
    """A pipeline whose first statement takes a key already taken, and then inserts ``key``."""

    async def work(conn: Connection) -> None:
        await conn.execute("INSERT INTO items (id) SELECT min(id) FROM items")
        await conn.execute(_INSERT, (key,))

    return work


async def _ids(db: Database) -> list[int]:
    async def read(conn: Connection) -> list[int]:
        cursor = await conn.execute("SELECT id FROM items ORDER BY id")
        return [int(str(value)) for (value,) in await cursor.fetchall()]

    return await db.run(read)


@pytest.mark.parametrize("run", [_atomic, _pipelined_transaction])
async def test_a_statement_after_a_failed_one_in_a_pipeline_still_runs_later(
    database: Database, run: Runner
) -> None:
    """A statement whose preparing run a failed pipeline skipped runs again on that connection."""

    async def threshold(conn: Connection) -> int:
        assert conn.prepare_threshold is not None
        return conn.prepare_threshold

    # psycopg prepares a statement on the run after its threshold: make that run
    # follow a failed statement, in a pipeline.
    runs = await database.run(threshold)
    for key in range(1, runs + 1):
        await run(database, _insert(key))
    with pytest.raises(psycopg.errors.UniqueViolation):
        await run(database, _taken_then_insert(100))
    await run(database, _insert(101))
    await run(database, _insert(102))
    assert await _ids(database) == [*range(1, runs + 1), 101, 102]


async def test_step_commits_go_on_committing_among_commits_that_lost_a_race(
    postgres_dsn: str, schema: str
) -> None:
    """Commits on one connection succeed however many commits between them raised Conflict."""
    async with PostgresBackend(postgres_dsn, schema=schema, pool_size=1) as backend:
        for round_ in range(6):
            record, batch = await started_and_claimed(backend, f"e{round_}")
            stale = consume(batch, record, 5, events=(SCHEDULED,))
            with raises_conflict():
                await backend.executions.commit(stale)
            await backend.executions.commit(consume(batch, record, 1, events=(SCHEDULED,)))
            with raises_conflict():
                await backend.executions.commit(stale)
            assert len(await backend.executions.history(record.id)) == 2
