"""``PostgresBackend.logs``: lines kept once per key, served by the system API, read in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest

from eventual import Service, logger, signal, task, workflow
from eventual.spi import LogEntry, LogStore
from eventual_engine import EngineOptions, HttpApp, HttpOptions, LocalRuntime
from eventual_engine.conformance import CHECKS
from eventual_postgres import SCHEMA_VERSION, PostgresBackend
from eventual_postgres._backend._logs import APPEND, append_parameters
from eventual_postgres._backend._schema import MIGRATIONS

T0 = datetime(2026, 1, 1, tzinfo=UTC)

proceed = signal("proceed", str)


@task
async def pack(order: str) -> str:
    logger.info("packing %s", order)
    return f"packed {order}"


@task
def weigh(order: str) -> int:  # a plain def: its body runs in a worker thread
    logger.warning("weighing %s", order)
    return 3


@workflow
async def ship(order: str) -> str:
    logger.info("shipping %s", order)
    packed = await pack(order)
    kilos = await weigh(order)
    how = await proceed.expect()
    logger.info("%s, %d kg, sent by %s", packed, kilos, how)
    return packed


SERVICE = Service.from_definitions("logbook", [proceed, pack, weigh, ship])


@pytest.fixture
async def runtime(postgres_dsn: str, schema: str) -> AsyncIterator[LocalRuntime]:
    """The service running on the ``postgres`` backend, chosen by name as configuration would."""
    settings: dict[str, object] = {"dsn": postgres_dsn, "postgres_schema": schema}
    options = EngineOptions(poll_interval=0.01)
    async with LocalRuntime(SERVICE, backend="postgres", settings=settings, options=options) as rt:
        yield rt


async def _lines(http: httpx.AsyncClient, path: str, count: int) -> tuple[list[Any], int]:
    """Follow ``path`` as ``eventual logs --follow`` does until ``count`` lines have come."""
    entries: list[Any] = []
    after = 0
    while len(entries) < count:
        body = (await http.get(path, params={"after": after, "wait": 5})).json()
        entries += body["entries"]
        after = body["next"]
    return entries, after


async def test_the_system_api_serves_a_workflows_and_its_tasks_lines_on_postgres(
    runtime: LocalRuntime,
) -> None:
    """/logs serves workflow and task-body lines in order, and a held follower gets the next one."""
    app = HttpApp(runtime, options=HttpOptions(max_wait=5))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        handle = await runtime.start(ship, "o1", name="o1")
        path = "/_eventual/executions/ship/o1/logs"
        entries, after = await asyncio.wait_for(_lines(http, path, 3), 30)
        assert [(e["level"], e["message"], e["task"]) for e in entries] == [
            ("INFO", "shipping o1", None),
            ("INFO", "packing o1", "pack"),
            ("WARNING", "weighing o1", "weigh"),
        ]
        assert [e["position"] for e in entries] == [1, 2, 3]
        assert {e["execution_id"] for e in entries} == {"ship/o1"}
        held = asyncio.create_task(http.get(path, params={"after": after, "wait": 5}))
        await handle.signal(proceed, "train")
        assert await asyncio.wait_for(handle.result(), 30) == "packed o1"
        later = (await held).json()
        assert [(e["message"], e["position"]) for e in later["entries"]] == [
            ("packed o1, 3 kg, sent by train", 4)
        ]
        done = (await http.get(path, params={"after": 4, "wait": 5})).json()
        assert done == {"entries": [], "next": 4, "status": "SUCCEEDED"}


def _entry(execution_id: str, key: str, message: str) -> LogEntry:
    return LogEntry(
        execution_id=execution_id, key=key, time=T0, level="INFO", message=message, seq=0
    )


async def test_log_lines_are_kept_once_per_key_and_read_after_a_position(
    backend: PostgresBackend,
) -> None:
    """A line logged again by a step that ran twice is kept once; after= reads only later ones."""
    assert isinstance(backend.logs, LogStore)
    await backend.logs.append_logs(
        [_entry("wf/a", "0|workflow|0", "one"), _entry("wf/b", "k", "b")]
    )
    await backend.logs.append_logs(
        [_entry("wf/a", "0|workflow|0", "one again"), _entry("wf/a", "1|1|0", "two")]
    )
    kept = await backend.logs.read_logs("wf/a")
    assert [entry.message for entry in kept] == ["one", "two"]
    assert kept[0].position < kept[1].position
    later = await backend.logs.read_logs("wf/a", after=kept[0].position)
    assert [entry.message for entry in later] == ["two"]
    assert await backend.logs.read_logs("wf/a", limit=1) == kept[:1]
    assert await backend.logs.read_logs("wf/none") == []


def _line(writer: int, number: int) -> LogEntry:
    return LogEntry(
        execution_id="w/busy",
        key=f"{writer}|1|{number}",
        time=T0,
        level="INFO",
        message=f"{writer}:{number}",
        seq=writer,
        task="t",
        attempt=1,
    )


async def test_a_follower_misses_no_line_that_many_writers_store_at_once(
    backend: PostgresBackend,
) -> None:
    """Writers of one execution storing at once (twice each) reach a reader once each, in order."""
    writers, lines = 4, 15
    store = backend.logs
    seen: list[LogEntry] = []
    writing = True

    async def write(writer: int) -> None:
        for number in range(lines):
            await store.append_logs([_line(writer, number)])

    async def follow() -> None:
        after = 0
        while True:
            stopping = not writing  # a read that starts after the last write sees it
            entries = await store.read_logs("w/busy", after, limit=7)
            seen.extend(entries)
            after = entries[-1].position if entries else after
            if stopping and not entries:
                return
            await asyncio.sleep(0)

    async def writers_then_stop() -> None:
        nonlocal writing
        # Each writer's lines are stored by two writers at once: an attempt that ran twice.
        await asyncio.gather(*(write(w % writers) for w in range(2 * writers)))
        writing = False

    await asyncio.wait_for(asyncio.gather(follow(), writers_then_stop()), 60)
    messages = [e.message for e in seen]
    assert sorted(messages) == sorted(f"{w}:{n}" for w in range(writers) for n in range(lines))
    for writer in range(writers):
        mine = [m for m in messages if m.startswith(f"{writer}:")]
        assert mine == [f"{writer}:{n}" for n in range(lines)]
    positions = [e.position for e in seen]
    assert positions == sorted(set(positions))
    assert [e.message for e in await store.read_logs("w/busy", limit=1000)] == messages


async def test_a_follower_misses_no_line_of_a_writer_whose_commit_is_slow(
    backend: PostgresBackend, postgres_dsn: str, schema: str
) -> None:
    """A line stored while an earlier writer has not committed yet comes after that writer's."""
    store = backend.logs
    slow = await psycopg.AsyncConnection.connect(postgres_dsn)
    watcher = await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True)
    try:
        await slow.execute(f"SET search_path TO {schema}")
        await slow.commit()
        # The first writer's statement has run, but its transaction is still open.
        await slow.execute(APPEND, append_parameters([_line(1, 0)]))
        second = asyncio.create_task(store.append_logs([_line(2, 0)]))
        blocked = "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))"
        while not second.done():
            row = await (await watcher.execute(blocked, (slow.info.backend_pid,))).fetchone()
            if row is not None and row[0]:
                break
            await asyncio.sleep(0.01)
        seen = await store.read_logs("w/busy")  # a follower reads while the first is open
        await slow.commit()
        await second
        seen += await store.read_logs("w/busy", seen[-1].position if seen else 0)
    finally:
        await slow.close()
        await watcher.close()
    assert [(e.key, e.position) for e in seen] == [("1|1|0", 1), ("2|1|0", 2)]


async def test_lines_kept_by_schema_version_4_keep_their_positions_after_migrating(
    postgres_dsn: str, schema: str
) -> None:
    """Lines stored before positions counted per execution are read as before, new ones after."""
    assert SCHEMA_VERSION > 4  # migrates from version 4 to the current one
    old = [_entry("wf/a", "0|workflow|0", "one"), _entry("wf/b", "k", "b")]
    old.append(_entry("wf/a", "1|1|0", "two"))
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as conn:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(f"SET search_path TO {schema}")
        await conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)"
        )
        for version, statements in enumerate(MIGRATIONS[:4], start=1):
            for statement in statements:
                await conn.execute(statement)
            await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
        # As version 4 stored them: positions from one sequence for every execution.
        executions, keys, texts = append_parameters(old)
        async with conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO logs (execution_id, key, entry) VALUES (%s, %s, %s)",
                list(zip(executions, keys, texts, strict=True)),
            )
    async with PostgresBackend(postgres_dsn, schema=schema) as backend:
        kept = await backend.logs.read_logs("wf/a")
        assert [(e.message, e.position) for e in kept] == [("one", 1), ("two", 3)]
        await backend.logs.append_logs([old[2], _entry("wf/a", "2|workflow|0", "three")])
        await backend.logs.append_logs([_entry("wf/b", "k2", "b2")])
        later = await backend.logs.read_logs("wf/a", after=3)
        assert [(e.message, e.position) for e in later] == [("three", 4)]
        assert [e.position for e in await backend.logs.read_logs("wf/b")] == [2, 3]


def test_the_backend_keeps_logs_so_the_contracts_log_checks_run() -> None:
    """PostgresBackend offers a LogStore, so the contract's log checks test it, not skip it."""
    backend = PostgresBackend("postgresql://nowhere/none")
    assert isinstance(backend.logs, LogStore)
    names = {check.__name__ for check in CHECKS}
    assert {"lines_are_read_in_the_order_stored", "a_line_stored_again_is_kept_once"} <= names
