"""Work added by another process wakes a serving engine at once (LISTEN/NOTIFY), not at a poll."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import psycopg

from eventual import ExecutionStatus, Service, task, workflow
from eventual.spi import EventEnvelope
from eventual_engine import BackendClient, Engine, EngineOptions
from eventual_engine.conformance.support import signal
from eventual_messaging import Route
from eventual_postgres import PostgresBackend, PostgresBusStore


@task
async def double(n: int) -> int:
    return 2 * n


@workflow
async def doubled(n: int) -> int:
    return await double(n)


SERVICE = Service.from_definitions("watch", [double, doubled])
SLOW_POLL = 30.0


async def test_an_execution_started_elsewhere_runs_long_before_the_next_poll(
    postgres_dsn: str, schema: str
) -> None:
    """A start queued by another process's client runs at once on an engine polling every 30 s."""
    worker = await PostgresBackend(postgres_dsn, schema=schema).open()
    other = await PostgresBackend(postgres_dsn, schema=schema).open()
    engine = Engine(SERVICE, worker, options=EngineOptions(poll_interval=SLOW_POLL))
    serving = asyncio.create_task(engine.serve())
    try:
        await asyncio.sleep(0.5)  # the engine has looked once and sleeps for SLOW_POLL
        client = BackendClient(SERVICE, other)
        began = time.monotonic()
        execution_id = await client.start_execution("doubled", 21, "n21")
        while await client.execution_status(execution_id) == ExecutionStatus.RUNNING:
            assert time.monotonic() - began < SLOW_POLL / 3, "the engine was not woken"
            await asyncio.sleep(0.02)
        assert await client.execution_result(execution_id) == 42
    finally:
        await engine.stop()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        await worker.close()
        await other.close()


async def test_a_listener_whose_connection_is_killed_reconnects_and_wakes_every_loop(
    postgres_dsn: str, schema: str
) -> None:
    """After the server drops the listening connection, the listener reconnects and hears again."""
    backend = await PostgresBackend(postgres_dsn, schema=schema).open()
    woken: asyncio.Queue[str] = asyncio.Queue()
    watching = asyncio.create_task(backend.watch(woken.put_nowait))
    try:
        first = {await asyncio.wait_for(woken.get(), 10) for _ in range(4)}
        assert first == {"orchestrator", "tasks", "timers", "events"}
        async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as admin:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query = 'LISTEN eventual'"
            )
        again = {await asyncio.wait_for(woken.get(), 10) for _ in range(4)}
        assert again == first  # reconnected: every loop is told to look once
        await backend.queue.enqueue([signal("wf/none", "s")])
        assert await asyncio.wait_for(woken.get(), 10) == "orchestrator"
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        await backend.close()


async def _heard_before_marker(
    dsn: str, schema: str, work: Callable[[], Awaitable[object]]
) -> list[str]:
    """Return the notifications of ``schema`` that ``work`` caused (those before a marker)."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as listener:
        await listener.execute("LISTEN eventual")
        await work()
        await listener.execute("SELECT pg_notify('eventual', %s)", (f"{schema} marker",))
        heard: list[str] = []
        async for notice in listener.notifies():
            if notice.payload == f"{schema} marker":
                return heard
            if notice.payload.startswith(f"{schema} "):
                heard.append(notice.payload.partition(" ")[2])
    raise AssertionError("unreachable")


async def test_claiming_deliveries_wakes_nobody_but_new_ones_do(
    postgres_dsn: str, schema: str
) -> None:
    """A bus claim (even of nothing) sends no notification; a published delivery wakes "events"."""
    store = PostgresBusStore(postgres_dsn, schema=schema, pool_size=2)
    await store.open()
    try:
        route = Route(service="s", subscription="sub", patterns=({"detail-type": ["E"]},))
        await store.register("s", [route])
        at = datetime(2026, 1, 1, tzinfo=UTC)
        envelope = EventEnvelope(id="e1", source="t", name="E", time=at, payload=1)
        assert await _heard_before_marker(
            postgres_dsn, schema, lambda: store.publish([envelope])
        ) == ["events"]

        async def claim_all() -> object:
            return await store.claim("s", at, "me", 10, 30.0)

        assert await _heard_before_marker(postgres_dsn, schema, claim_all) == []
        assert await _heard_before_marker(postgres_dsn, schema, claim_all) == []
    finally:
        await store.close()
