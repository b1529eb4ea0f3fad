"""Opening the backend: migrations applied once under an advisory lock, refusals, restarts."""

from __future__ import annotations

import asyncio
import sys

import psycopg
import pytest

from eventual_engine.conformance.support import LONG, T0, consume, started_and_claimed, task
from eventual_postgres import SCHEMA_VERSION, DatabaseClosed, PostgresBackend, SchemaVersionError

OWNER_OF_THIS_PROCESS = "from eventual.spi import process_owner; print(process_owner('engine'))"


async def versions(dsn: str, schema: str) -> list[int]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cursor = await conn.execute(f"SELECT version FROM {schema}.schema_migrations ORDER BY 1")
        return [int(str(v)) for (v,) in await cursor.fetchall()]


async def test_processes_opening_a_new_database_together_migrate_it_once(
    postgres_dsn: str, schema: str
) -> None:
    """Five backends opening one new schema at once each succeed; every version is applied once."""
    backends = [PostgresBackend(postgres_dsn, schema=schema, pool_size=1) for _ in range(5)]
    await asyncio.gather(*(b.open() for b in backends))
    try:
        assert await versions(postgres_dsn, schema) == list(range(1, SCHEMA_VERSION + 1))
        assert await backends[0].executions.get("wf/none") is None
    finally:
        await asyncio.gather(*(b.close() for b in backends))


async def test_a_schema_migrated_by_a_newer_release_is_refused(
    postgres_dsn: str, schema: str
) -> None:
    """A schema whose recorded version is above this code's raises SchemaVersionError."""
    async with PostgresBackend(postgres_dsn, schema=schema):
        pass
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as conn:
        await conn.execute(
            f"INSERT INTO {schema}.schema_migrations (version) VALUES (%s)", (SCHEMA_VERSION + 1,)
        )
    with pytest.raises(SchemaVersionError, match="upgrade eventual-postgres"):
        await PostgresBackend(postgres_dsn, schema=schema).open()


async def test_a_closed_backend_refuses_calls(backend: PostgresBackend) -> None:
    """Calls after close raise DatabaseClosed instead of hanging on a closed pool."""
    await backend.close()
    with pytest.raises(DatabaseClosed):
        await backend.executions.get("wf/x")


async def test_a_restart_takes_back_at_once_the_claims_of_a_dead_process_of_this_machine(
    postgres_dsn: str, schema: str
) -> None:
    """Attempts claimed by a process that has exited are claimable as soon as the backend opens."""
    made = await asyncio.create_subprocess_exec(
        sys.executable, "-c", OWNER_OF_THIS_PROCESS, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await made.communicate()
    dead = out.decode().strip()
    async with PostgresBackend(postgres_dsn, schema=schema) as first:
        record, batch = await started_and_claimed(first)
        attempt = task(record.id, 1)
        await first.executions.commit(consume(batch, record, 1, tasks=(attempt,)))
        assert await first.tasks.claim(dead, T0, 10, LONG) == [attempt]
        assert await first.tasks.claim("alive", T0, 10, LONG) == []
    async with PostgresBackend(postgres_dsn, schema=schema) as second:
        assert await second.tasks.claim("alive", T0, 10, LONG) == [attempt]
