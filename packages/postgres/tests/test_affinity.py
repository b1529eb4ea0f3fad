"""A signal goes to the process holding its execution's live instance, and to any once it waited.

Two engines serve one schema, each with a backend of its own, as two machines
would; signals come from a client that runs no engine. The engines poll hourly,
so they look at the queue only when told to: by a test, or by a notification
(which wakes the holder at once, and the others once the message is anyone's).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from eventual import ExecutionStatus, Service, signal, workflow
from eventual.spi import InboundBatch
from eventual_engine import BackendClient, Engine, EngineOptions
from eventual_postgres import PostgresBackend, _listen

tick = signal("tick", int)


@workflow
async def two_ticks(_: None) -> int:
    return await tick.expect() + await tick.expect()


SERVICE = Service.from_definitions("affinity", [two_ticks])
HOUR = 3600.0
AFFINITY = timedelta(hours=1)


class Worker:
    """An engine on a backend of its own, serving, with a record of its orchestrator's looks."""

    def __init__(self, dsn: str, schema: str, affinity: timedelta = AFFINITY) -> None:
        self.backend = PostgresBackend(dsn, schema=schema, pool_size=4, affinity=affinity)
        self.engine = Engine(SERVICE, self.backend, options=EngineOptions(poll_interval=HOUR))
        # The loops the engine was woken for, from now on (``engine.notify``).
        self.woken: list[str] = []
        self.was_woken = asyncio.Event()
        # What each look begun since the latest ``look_after_now`` took (execution ids).
        self.looks: list[list[str]] = []
        self.round = 0  # which ``look_after_now`` call a look began under (0: none)
        self.looked = asyncio.Event()
        self.gate: asyncio.Event | None = None  # while set, looks wait for it
        self._claim = self.backend.queue.claim
        self._serving: asyncio.Task[None] | None = None

    async def claim(self, owner: str, limit: int, lease: timedelta) -> list[InboundBatch]:
        if self.gate is not None:
            await self.gate.wait()
        began = self.round
        batches = await self._claim(owner, limit, lease)
        if began and began == self.round:
            self.looks.append([b.execution_id for b in batches])
            self.looked.set()
        return batches

    def notify(self, *loops: str) -> None:
        self.woken.extend(loops or ("all",))
        self.was_woken.set()
        self._notify(*loops)

    async def start(self, monkeypatch: pytest.MonkeyPatch) -> None:
        await self.backend.open()
        monkeypatch.setattr(self.backend.queue, "claim", self.claim)
        self._notify = self.engine.notify
        monkeypatch.setattr(self.engine, "notify", self.notify)
        self._serving = asyncio.create_task(self.engine.serve())

    async def look_after_now(self) -> list[str]:
        """Make the orchestrator look at the queue once more; return what that look took."""
        self.round += 1  # a look under way now began before: it is not counted
        self.looks.clear()
        self.looked.clear()
        self.engine.notify("orchestrator")
        await asyncio.wait_for(self.looked.wait(), 60)
        return self.looks[0]

    async def stop(self) -> None:
        if self._serving is not None:
            await self.engine.stop()
            self._serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._serving
            self._serving = None
        await self.backend.close()


@pytest.fixture
async def outside(postgres_dsn: str, schema: str) -> AsyncIterator[BackendClient]:
    """A client that runs no engine: it starts executions and sends signals."""
    backend = await PostgresBackend(postgres_dsn, schema=schema, pool_size=2).open()
    try:
        yield BackendClient(SERVICE, backend)
    finally:
        await backend.close()


@pytest.fixture
async def workers(postgres_dsn: str, schema: str) -> AsyncIterator[tuple[Worker, Worker]]:
    """Two engines' workers on the test's schema, not started yet."""
    pair = Worker(postgres_dsn, schema), Worker(postgres_dsn, schema)
    try:
        yield pair
    finally:
        for worker in pair:
            await worker.stop()


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait until ``check`` holds, looking every 10 ms (a minute at most)."""
    for _ in range(6000):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("still not so after a minute")


async def held_by_a(
    outside: BackendClient, workers: tuple[Worker, Worker], monkeypatch: pytest.MonkeyPatch
) -> str:
    """Start an execution while only A serves; once A stepped it, start B; return its id."""
    a, b = workers
    await a.start(monkeypatch)
    execution_id = await outside.start_execution("two_ticks", None, "t1")
    consumed = consumed_by(outside)

    async def stepped() -> bool:
        return a.engine.orchestrator.holds(execution_id) and await consumed()

    await until(stepped)
    await b.start(monkeypatch)
    return execution_id


def consumed_by(outside: BackendClient) -> Callable[[], Awaitable[bool]]:
    """Return a check that no message is queued for a running execution."""

    async def check() -> bool:
        return await outside.backend.queue.pending() == 0

    return check


async def test_a_signal_is_applied_by_the_process_holding_the_execution(
    outside: BackendClient, workers: tuple[Worker, Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    """B looks first at a signal for an execution A holds and leaves it; A applies it, no replay."""
    a, b = workers
    execution_id = await held_by_a(outside, workers, monkeypatch)
    a.gate = asyncio.Event()  # A looks only once B has looked
    await outside.send_signal(execution_id, "tick", 1)
    assert await b.look_after_now() == []
    a.gate.set()
    await until(consumed_by(outside))
    assert a.engine.orchestrator.replays == 1  # the start; the signal went to the live instance
    assert b.engine.orchestrator.replays == 0
    record = await outside.execution_record(execution_id)
    assert record.status is ExecutionStatus.RUNNING


async def test_a_signal_for_a_stopped_holder_is_taken_by_another_once_it_has_waited(
    outside: BackendClient,
    workers: tuple[Worker, Worker],
    monkeypatch: pytest.MonkeyPatch,
    postgres_dsn: str,
    schema: str,
) -> None:
    """With A stopped, B leaves A's signal until it has waited the affinity, then applies it."""
    a, b = workers
    execution_id = await held_by_a(outside, workers, monkeypatch)
    await a.stop()
    await outside.send_signal(execution_id, "tick", 1)
    assert await b.look_after_now() == []
    # An hour passes for the message (the server's clock is the judge).
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as admin:
        await admin.execute(f"UPDATE {schema}.messages SET queued_at = queued_at - 2 * {HOUR}")
    assert await b.look_after_now() == [execution_id]
    # B holds it now: the next signal is B's at once.
    await outside.send_signal(execution_id, "tick", 2)
    record = await asyncio.wait_for(outside.wait(execution_id), 60)
    assert record.status is ExecutionStatus.SUCCEEDED
    assert await outside.execution_result(execution_id) == 3
    assert b.engine.orchestrator.replays == 1


async def test_a_signal_for_an_execution_held_elsewhere_wakes_only_its_holder(
    outside: BackendClient,
    workers: tuple[Worker, Worker],
    monkeypatch: pytest.MonkeyPatch,
    postgres_dsn: str,
    schema: str,
) -> None:
    """A's signal wakes A, not B: B's orchestrator is not woken to look for nothing."""
    a, b = workers
    execution_id = await held_by_a(outside, workers, monkeypatch)
    # B's listener is connected once it woke every loop; count from there.
    await asyncio.wait_for(b.was_woken.wait(), 60)
    b.woken.clear()
    await outside.send_signal(execution_id, "tick", 1)
    await until(consumed_by(outside))  # A, polling hourly, was woken by it
    # A notification after it reaches B after it: once B saw this one, it saw the signal's.
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as admin:
        await admin.execute("SELECT pg_notify('eventual', %s)", (f"{schema} tasks",))
    await until(lambda: _true("tasks" in b.woken))
    assert b.woken == ["tasks"]
    assert (a.engine.orchestrator.replays, b.engine.orchestrator.replays) == (1, 0)


async def test_a_signal_for_a_stopped_holder_wakes_another_once_it_has_waited(
    outside: BackendClient, monkeypatch: pytest.MonkeyPatch, postgres_dsn: str, schema: str
) -> None:
    """A signal for a stopped holder's execution wakes B once it is anyone's; B polls hourly."""
    short = timedelta(milliseconds=300)
    a, b = Worker(postgres_dsn, schema, short), Worker(postgres_dsn, schema, short)
    try:
        execution_id = await held_by_a(outside, (a, b), monkeypatch)
        await asyncio.wait_for(b.was_woken.wait(), 60)  # B listens
        await a.stop()
        await outside.send_signal(execution_id, "tick", 1)
        await until(consumed_by(outside))
        assert b.engine.orchestrator.replays == 1  # B took it over
        await outside.send_signal(execution_id, "tick", 2)
        record = await asyncio.wait_for(outside.wait(execution_id), 60)
        assert record.status is ExecutionStatus.SUCCEEDED
    finally:
        await b.stop()
        await a.stop()


async def test_a_listener_dropped_by_the_server_takes_what_was_announced_while_it_was_away(
    outside: BackendClient,
    monkeypatch: pytest.MonkeyPatch,
    postgres_dsn: str,
    schema: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """B, its listening connection killed, reconnects and takes a signal announced meanwhile."""
    short = timedelta(seconds=2)  # far longer than B takes to reconnect and look once
    a, b = Worker(postgres_dsn, schema, short), Worker(postgres_dsn, schema, short)
    try:
        execution_id = await held_by_a(outside, (a, b), monkeypatch)
        await asyncio.wait_for(b.was_woken.wait(), 60)  # B listens
        await a.stop()  # the signal will name A, which will never take it
        # B's next connection attempt waits until the signal is sent.
        reconnecting, go_on = asyncio.Event(), asyncio.Event()
        connect = psycopg.AsyncConnection.connect

        async def held_connect(*args: Any, **kwargs: Any) -> psycopg.AsyncConnection[Any]:
            reconnecting.set()
            await go_on.wait()
            return await connect(*args, **kwargs)

        gated = types.SimpleNamespace(
            AsyncConnection=types.SimpleNamespace(connect=held_connect),
            Error=psycopg.Error,
        )
        monkeypatch.setattr(_listen, "psycopg", gated)
        caplog.set_level(logging.INFO, logger="eventual.postgres")
        async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as admin:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query = 'LISTEN eventual'"
            )
        await asyncio.wait_for(reconnecting.wait(), 60)  # B is not listening
        await outside.send_signal(execution_id, "tick", 1)
        b.woken.clear()
        go_on.set()
        # B looks at once when it listens again, too soon to take A's signal; an
        # hourly poll cannot take it either: only the look one affinity later can.
        await until(consumed_by(outside))
        assert b.engine.orchestrator.replays == 1  # B took it over
        assert b.woken.count("tasks") == 1  # B reconnected once
        # B hears again: the next signal, now B's, wakes it at once.
        await outside.send_signal(execution_id, "tick", 2)
        record = await asyncio.wait_for(outside.wait(execution_id), 60)
        assert record.status is ExecutionStatus.SUCCEEDED
        assert await outside.execution_result(execution_id) == 3
        warned = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warned) == 1
        assert "lost its listening connection" in warned[0].getMessage()
        assert "administrator command" in warned[0].getMessage()
    finally:
        await b.stop()
        await a.stop()


async def _true(value: bool) -> bool:
    return value
