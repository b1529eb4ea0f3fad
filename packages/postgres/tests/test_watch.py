"""Work added by another process wakes a serving engine at once (LISTEN/NOTIFY), not at a poll."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import types
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from eventual import ExecutionStatus, Service, task, workflow
from eventual.spi import EventEnvelope, InboundBatch
from eventual_engine import BackendClient, Engine, EngineOptions
from eventual_engine.conformance.support import signal
from eventual_messaging import Route
from eventual_postgres import PostgresBackend, PostgresBusStore, _listen


@task
async def double(n: int) -> int:
    return 2 * n


@workflow
async def doubled(n: int) -> int:
    return await double(n)


SERVICE = Service.from_definitions("watch", [double, doubled])
SLOW_POLL = 3600.0
WAKES_ORCHESTRATOR = ("wake orchestrator", "wake all")


async def test_an_execution_started_elsewhere_runs_long_before_the_next_poll(
    postgres_dsn: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A start queued by another process's client runs at once on an engine polling hourly."""
    worker = await PostgresBackend(postgres_dsn, schema=schema).open()
    other = await PostgresBackend(postgres_dsn, schema=schema).open()
    engine = Engine(SERVICE, worker, options=EngineOptions(poll_interval=SLOW_POLL))
    # The engine's wake-ups and what each look of its orchestrator at the queue took.
    seen: list[str] = []
    changed = asyncio.Event()
    notify = engine.notify
    claim = worker.queue.claim

    def recording_notify(*loops: str) -> None:
        seen.extend(f"wake {loop}" for loop in loops or ("all",))
        changed.set()
        notify(*loops)

    # Where in ``seen`` the latest look began, and how many looks are under way.
    look: dict[str, int] = {"began": -1, "running": 0}

    async def recording_claim(owner: str, limit: int, lease: timedelta) -> list[InboundBatch]:
        look["began"] = len(seen)
        look["running"] += 1
        try:
            batches = await claim(owner, limit, lease)
        finally:
            look["running"] -= 1
        seen.append(" ".join(b.execution_id for b in batches) or "nothing")
        changed.set()
        return batches

    async def until(check: Callable[[], bool]) -> None:
        while not check():
            changed.clear()
            await asyncio.wait_for(changed.wait(), 30)

    def settled() -> bool:
        # The listener woke the orchestrator, and a look begun after the last
        # wake-up (which it cleared before looking) found nothing and is over:
        # a wake-up that came during a look would bring another.
        wakes = [i for i, entry in enumerate(seen) if entry in WAKES_ORCHESTRATOR]
        return (
            bool(wakes)
            and look["running"] == 0
            and look["began"] > wakes[-1]
            and seen[-1] == "nothing"
        )

    monkeypatch.setattr(engine, "notify", recording_notify)
    monkeypatch.setattr(worker.queue, "claim", recording_claim)
    serving = asyncio.create_task(engine.serve())
    try:
        await until(settled)  # from here on only a notification or an hour wakes it
        looked = len(seen)
        client = BackendClient(SERVICE, other)
        execution_id = await client.start_execution("doubled", 21, "n21")
        record = await asyncio.wait_for(client.wait(execution_id), 60)
        assert record.status == ExecutionStatus.SUCCEEDED
        assert await client.execution_result(execution_id) == 42
        after = seen[looked:]
        first_look = next(i for i, entry in enumerate(after) if not entry.startswith("wake "))
        assert "wake orchestrator" in after[:first_look], after
        assert after[first_look] == execution_id, after
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


async def test_a_listener_logs_an_outage_once_and_backs_off_between_attempts(
    postgres_dsn: str,
    schema: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Failed attempts wait twice as long each, up to a limit; one WARNING per outage says why."""
    attempts = 0
    connect = psycopg.AsyncConnection.connect

    async def failing_four_times(dsn: str, **kwargs: object) -> psycopg.AsyncConnection[object]:
        nonlocal attempts
        attempts += 1
        if attempts <= 4:
            raise psycopg.OperationalError(f"refused {attempts}")
        return await connect(dsn, autocommit=True)

    monkeypatch.setattr(
        _listen,
        "psycopg",
        types.SimpleNamespace(
            AsyncConnection=types.SimpleNamespace(connect=failing_four_times),
            Error=psycopg.Error,
        ),
    )
    caplog.set_level(logging.DEBUG, logger="eventual.postgres")
    woken: asyncio.Queue[str] = asyncio.Queue()
    listening = asyncio.create_task(
        _listen.listen(
            postgres_dsn, schema, woken.put_nowait, retry_after=0.001, max_retry_after=0.004
        )
    )

    def said() -> list[tuple[int, str]]:
        return [
            (r.levelno, r.getMessage()) for r in caplog.records if r.name == "eventual.postgres"
        ]

    try:
        assert await asyncio.wait_for(woken.get(), 30) == "orchestrator"
        async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as admin:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query = 'LISTEN eventual'"
            )
        for _ in range(6000):
            if len(said()) == 7:
                break
            await asyncio.sleep(0.01)
        assert said() == [
            (
                logging.WARNING,
                f"eventual cannot listen for work on {schema} (refused 1); retrying in 0.001 s",
            ),
            (
                logging.DEBUG,
                f"eventual cannot listen for work on {schema} (refused 2); retrying in 0.002 s",
            ),
            (
                logging.DEBUG,
                f"eventual cannot listen for work on {schema} (refused 3); retrying in 0.004 s",
            ),
            (
                logging.DEBUG,
                f"eventual cannot listen for work on {schema} (refused 4); retrying in 0.004 s",
            ),
            (logging.INFO, f"eventual listens for work on {schema} again"),
            (
                logging.WARNING,
                f"eventual lost its listening connection on {schema} (FATAL: terminating "
                "connection due to administrator command); reconnecting in 0.001 s",
            ),
            (logging.INFO, f"eventual listens for work on {schema} again"),
        ]
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening


async def test_a_listener_survives_a_database_error_that_is_not_a_lost_connection(
    postgres_dsn: str,
    schema: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An error other than a lost connection is logged once and listening starts again."""
    notifications = _listen._notifications
    calls = 0

    def failing_once(conn: psycopg.AsyncConnection[object]) -> AsyncIterator[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise psycopg.errors.InternalError("the listener's query failed")
        return notifications(conn)

    monkeypatch.setattr(_listen, "_notifications", failing_once)
    caplog.set_level(logging.DEBUG, logger="eventual.postgres")
    woken: asyncio.Queue[str] = asyncio.Queue()
    listening = asyncio.create_task(
        _listen.listen(postgres_dsn, schema, woken.put_nowait, retry_after=0.001)
    )
    try:
        # Each connection wakes every loop once; the second proves it listens again.
        assert await asyncio.wait_for(woken.get(), 30) == "orchestrator"
        while calls < 2:
            await asyncio.wait_for(woken.get(), 30)
        assert not listening.done()
        said = [
            (r.levelno, r.getMessage()) for r in caplog.records if r.name == "eventual.postgres"
        ]
        assert said[0] == (
            logging.WARNING,
            f"eventual lost its listening connection on {schema} (the listener's query "
            "failed); reconnecting in 0.001 s",
        )
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening


async def _next_heard(listener: psycopg.AsyncConnection[object], schema: str) -> str:
    """Wait for the next notification of ``schema`` on ``listener``; return its loop."""
    async for notice in listener.notifies():
        if notice.payload.startswith(f"{schema} "):
            return notice.payload.partition(" ")[2]
    raise AssertionError("the listening connection closed")


async def test_new_deliveries_wake_engines_and_claims_wake_nobody(
    postgres_dsn: str, schema: str
) -> None:
    """A published delivery announces "events"; a bus claim (even of nothing) announces nothing."""
    store = PostgresBusStore(postgres_dsn, schema=schema, pool_size=2)
    await store.open()
    listener = await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True)
    try:
        await listener.execute("LISTEN eventual")
        route = Route(service="s", subscription="sub", patterns=({"detail-type": ["E"]},))
        await store.register("s", [route])
        at = datetime(2026, 1, 1, tzinfo=UTC)
        await store.publish([EventEnvelope(id="e1", source="t", name="E", time=at, payload=1)])
        assert await asyncio.wait_for(_next_heard(listener, schema), timeout=30) == "events"
        assert len(await store.claim("s", at, "me", 10, 30.0)) == 1
        assert await store.claim("s", at, "me", 10, 30.0) == []
        # Notifications arrive in commit order: whatever the claims sent comes first.
        await listener.execute("SELECT pg_notify('eventual', %s)", (f"{schema} marker",))
        assert await asyncio.wait_for(_next_heard(listener, schema), timeout=30) == "marker"
    finally:
        await listener.close()
        await store.close()
