"""A whole service on ``eventual_engine.LocalRuntime`` / ``Engine`` with this package's buses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from eventual import RetryPolicy, Service, event, subscription, workflow

engine = pytest.importorskip("eventual_engine")


@attrs.frozen
class Shipped:
    order_id: str
    region: str


shipped = event("Shipped", Shipped)


async def _until(condition: object, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for deliveries")
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("db", [None, "state.db"])
async def test_workflow_and_outside_publishes_reach_subscriptions(
    tmp_path: Path, db: str | None
) -> None:
    """A workflow's publish and an ev.publish from outside both reach the matching handler."""
    seen: list[str] = []

    @subscription(shipped.where(region="eu"))
    async def notify_eu(s: Shipped) -> None:
        seen.append(s.order_id)

    @workflow
    async def ship(order_id: str) -> str:
        await shipped.publish(Shipped(order_id, "eu"), Shipped(order_id + "-us", "us"))
        return "shipped"

    service = Service.from_definitions("orders", [shipped, notify_eu, ship])
    async with engine.LocalRuntime(service, db=None if db is None else tmp_path / db) as rt:
        handle = await rt.start(ship, "o1")
        assert await handle.result() == "shipped"
        await shipped.publish(Shipped("o2", "eu"))
        await _until(lambda: len(seen) == 2)
        await asyncio.sleep(0.1)  # nothing else arrives
    assert sorted(seen) == ["o1", "o2"]


async def test_the_engine_drives_retries_on_its_virtual_clock() -> None:
    """advance_to fires subscription retries at their back-off instants."""
    from eventual_messaging import MemoryBus

    start = datetime(2026, 1, 1, tzinfo=UTC)
    attempts: list[datetime] = []
    clock = engine.ManualClock(start)

    @subscription(shipped, retry=RetryPolicy(max_attempts=3, initial_interval=timedelta(minutes=1)))
    async def flaky(s: Shipped) -> None:
        attempts.append(clock.now())
        raise RuntimeError("try later")

    service = Service.from_definitions("orders", [shipped, flaky])
    runner = engine.Engine(service, engine.MemoryBackend(), clock=clock)
    bus = MemoryBus()
    await runner.attach_bus(bus)
    await runner.publish_events([("Shipped", {"order_id": "o1", "region": "eu"})])
    await runner.advance_to(start + timedelta(hours=1))
    assert attempts == [start, start + timedelta(minutes=1), start + timedelta(minutes=3)]
    assert runner.subscriptions is not None
    (dead,) = await runner.subscriptions.dead_letters()
    assert (dead.attempts, dead.message) == (3, "try later")


async def test_local_runtime_lists_and_redrives_dead_letters(tmp_path: Path) -> None:
    """LocalRuntime exposes the dead letters of its subscriptions and redrives them."""
    fixed = False
    handled: list[str] = []

    @subscription(shipped)
    async def picky(s: Shipped) -> None:
        if not fixed:
            raise ValueError(f"cannot ship {s.order_id}")
        handled.append(s.order_id)

    service = Service.from_definitions("orders", [shipped, picky])
    async with engine.LocalRuntime(service, db=tmp_path / "state.db") as rt:
        await shipped.publish(Shipped("o1", "eu"))
        letters: list[object] = []

        async def dead() -> bool:
            letters[:] = await rt.dead_letters()
            return bool(letters)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not await dead():
            assert loop.time() < deadline, "the event was never dead-lettered"
            await asyncio.sleep(0.02)
        (letter,) = await rt.dead_letters()
        assert (letter.subscription, letter.error_type) == ("picky", "ValueError")
        assert letter.message == "cannot ship o1"
        fixed = True
        assert await rt.redrive([letter.id]) == 1
        await _until(lambda: handled == ["o1"])
        assert await rt.dead_letters() == []


async def test_published_events_keep_the_time_of_their_step() -> None:
    """A workflow's event carries the time its step committed, not the time it was relayed."""
    from eventual.spi import EventEnvelope
    from eventual_messaging import MemoryBus

    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = engine.ManualClock(start)
    handled: list[str] = []

    @subscription(shipped)
    async def record(s: Shipped) -> None:
        handled.append(s.order_id)

    @workflow
    async def ship(order_id: str) -> None:
        await shipped.publish(Shipped(order_id, "eu"))

    service = Service.from_definitions("orders", [shipped, record, ship])
    runner = engine.Engine(service, engine.MemoryBackend(), clock=clock)
    await runner.start_execution("ship", "o1", "x")  # published while no bus is attached
    clock.set(start + timedelta(days=1))
    bus = MemoryBus()
    relayed: list[EventEnvelope] = []
    publish = bus.publish

    async def capture(envelopes: list[EventEnvelope]) -> None:
        relayed.extend(envelopes)
        await publish(envelopes)

    bus.publish = capture  # type: ignore[method-assign,assignment]
    await runner.attach_bus(bus)
    await runner.run_until_idle()
    assert handled == ["o1"]
    assert [(e.name, e.time, e.source) for e in relayed] == [("Shipped", start, "orders")]


async def test_a_slow_handler_does_not_hold_up_other_deliveries(tmp_path: Path) -> None:
    """While one handler is stuck, events published later still reach their handlers."""
    release = asyncio.Event()
    quick: list[str] = []
    slow_started = asyncio.Event()
    slow_done: list[str] = []

    @subscription(shipped.where(region="slow"))
    async def stuck(s: Shipped) -> None:
        slow_started.set()
        await release.wait()
        slow_done.append(s.order_id)

    @subscription(shipped.where(region="eu"))
    async def fast(s: Shipped) -> None:
        quick.append(s.order_id)

    service = Service.from_definitions("orders", [shipped, stuck, fast])
    async with engine.LocalRuntime(service, db=tmp_path / "state.db") as rt:
        assert rt.engine.subscriptions is not None
        await shipped.publish(Shipped("s1", "slow"))
        await asyncio.wait_for(slow_started.wait(), 10)
        await shipped.publish(Shipped("q1", "eu"), Shipped("q2", "eu"))
        await _until(lambda: sorted(quick) == ["q1", "q2"])
        assert slow_done == []
        release.set()
        await _until(lambda: slow_done == ["s1"])
