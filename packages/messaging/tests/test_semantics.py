"""Event and subscription semantics of a whole service, in real time, on any runtime.

Each test takes a harness ``h`` (possibly shared with other tests, so a test
looks only at the events it published) whose ``settle`` waits until every delivery due
within the test's few seconds has run (retries with a one-second back-off
included), and whose ``bus`` and ``delivery`` are the runtime's event bus and
this service's subscription delivery. Here the harness runs the service on
``LocalRuntime`` with SQLite state and the SQLite bus; eventual-aws runs the
same tests on its simulator, with the ``eventbridge`` bus, every message
delivered once and twice (``packages/aws/tests/test_simulator_messaging.py``),
so the definitions live at module level, where a loaded service finds them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import attrs
import pytest

from eventual import RetryPolicy, Service, Workflow, event, subscription, workflow
from eventual.spi import DeadLetter, EventBus, EventEnvelope, SubscriptionDelivery

engine = pytest.importorskip("eventual_engine")

SOURCE = "shipping"
"""The service's name: the source of the events it publishes."""


@attrs.frozen
class Shipped:
    order_id: str
    region: str


shipped = event("Shipped", Shipped)

handled: list[str] = []
"""Each handler run that returned, as ``"<subscription> <order id>"``."""
calls: dict[str, int] = {}
"""Handler runs by ``"<subscription> <order id>"``, failed ones included."""
accepted: set[str] = set()
"""Order ids ``picky`` takes; it refuses the others."""


def _count(name: str, order_id: str) -> int:
    key = f"{name} {order_id}"
    calls[key] = calls.get(key, 0) + 1
    return calls[key]


@subscription(shipped)
async def audit(s: Shipped) -> None:
    handled.append(f"audit {s.order_id}")


@subscription(shipped.where(region="eu"))
async def europe(s: Shipped) -> None:
    handled.append(f"europe {s.order_id}")


@subscription(
    shipped.where(region="flaky"),
    retry=RetryPolicy(max_attempts=4, initial_interval=timedelta(seconds=1), backoff=1.0),
)
async def flaky(s: Shipped) -> None:
    # Fails its first two runs; a delivery handed over twice may spend both on one attempt.
    if _count("flaky", s.order_id) <= 2:
        raise ConnectionError(f"carrier unreachable for {s.order_id}")
    handled.append(f"flaky {s.order_id}")


@subscription(shipped.where(region="picky"))
async def picky(s: Shipped) -> None:
    if s.order_id not in accepted:
        raise ValueError(f"cannot ship {s.order_id}")
    handled.append(f"picky {s.order_id}")


@workflow
async def ship(order_id: str) -> str:
    await shipped.publish(Shipped(order_id, "eu"), Shipped(order_id + "-us", "us"))
    return "shipped"


class Harness(Protocol):
    """What the tests need of a runtime."""

    bus: EventBus
    delivery: SubscriptionDelivery

    async def start(self, workflow: Workflow[Any, Any], input: Any) -> Any:
        """Start an execution; return its handle."""

    async def settle(self) -> None:
        """Wait until every delivery due within a few seconds has run."""


def envelope(id_: str, payload: Any) -> EventEnvelope:
    """Return a ``Shipped`` event as the service would publish it."""
    return EventEnvelope(
        id=id_, source=SOURCE, name="Shipped", time=datetime.now(UTC), payload=payload
    )


async def _letters_of(h: Harness, *order_ids: str) -> list[DeadLetter]:
    """Return the dead letters of events about ``order_ids`` (a runtime may hold others)."""
    letters = await h.delivery.dead_letters()
    return [
        d
        for d in letters
        if isinstance(d.event.payload, dict) and d.event.payload.get("order_id") in order_ids
    ]


def reset() -> None:
    """Forget what earlier tests handled."""
    handled.clear()
    calls.clear()
    accepted.clear()


class LocalHarness:
    """The service on ``LocalRuntime``: SQLite state, the SQLite bus, real time."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.bus: EventBus = runtime.engine.bus
        subscriptions = runtime.engine.subscriptions
        assert subscriptions is not None
        self.delivery: SubscriptionDelivery = subscriptions

    async def start(self, workflow: Workflow[Any, Any], input: Any) -> Any:
        """Start an execution; return its handle."""
        return await self.runtime.start(workflow, input)

    async def settle(self, quiet: float = 0.3, timeout: float = 30.0) -> None:
        """Wait until no delivery is waiting or running for ``quiet`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        since: float | None = None
        while loop.time() < deadline:
            relayed = not await self.runtime.engine.backend.published(1)
            if relayed and await self.delivery.pending() == 0:
                since = since or loop.time()
                if loop.time() - since >= quiet:
                    return
            else:
                since = None
            await asyncio.sleep(0.05)
        raise AssertionError(f"deliveries still pending after {timeout} s")


SERVICE = Service.from_definitions(SOURCE, [shipped, audit, europe, flaky, picky, ship])


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[LocalHarness]:
    reset()
    async with engine.LocalRuntime(SERVICE, db=tmp_path / "state.db") as runtime:
        yield LocalHarness(runtime)


async def test_a_publish_reaches_every_matching_subscription(h: Harness) -> None:
    """An event reaches each subscription whose filter it matches, once, and no other."""
    await shipped.publish(Shipped("o1", "eu"), Shipped("o2", "us"))
    await h.settle()
    assert sorted(handled) == ["audit o1", "audit o2", "europe o1"]


async def test_a_workflow_publish_reaches_subscriptions(h: Harness) -> None:
    """Events a workflow publishes are delivered like those published from outside."""
    handle = await h.start(ship, "w1")
    assert await handle.result() == "shipped"
    await h.settle()
    assert sorted(handled) == ["audit w1", "audit w1-us", "europe w1"]


async def test_an_event_id_is_handled_once(h: Harness) -> None:
    """The same event published again (a publisher retrying) runs each handler once."""
    again = envelope("same-id", {"order_id": "o3", "region": "eu"})
    await h.bus.publish([again])
    await h.settle()
    await h.bus.publish([again])
    await h.settle()
    assert sorted(handled) == ["audit o3", "europe o3"]


async def test_a_failing_handler_is_retried_until_it_succeeds(h: Harness) -> None:
    """A handler that fails with attempts left runs again after its back-off, then succeeds."""
    await shipped.publish(Shipped("o4", "flaky"))
    await h.settle()
    assert sorted(handled) == ["audit o4", "flaky o4"]
    assert calls["flaky o4"] >= 3
    assert await _letters_of(h, "o4") == []


async def test_the_last_failure_is_a_dead_letter_that_redrive_delivers(h: Harness) -> None:
    """A handler failing its last attempt leaves one dead letter; redriving it delivers it."""
    await shipped.publish(Shipped("o5", "picky"), Shipped("o6", "picky"))
    await h.settle()
    letters = await _letters_of(h, "o5", "o6")
    assert sorted((d.subscription, d.error_type, d.message, d.attempts) for d in letters) == [
        ("picky", "ValueError", "cannot ship o5", 1),
        ("picky", "ValueError", "cannot ship o6", 1),
    ]
    accepted.add("o5")
    (o5,) = [d for d in letters if d.message.endswith("o5")]
    assert await h.delivery.redrive([o5.id]) == 1
    await h.settle()
    assert "picky o5" in handled
    remaining = await _letters_of(h, "o5", "o6")
    assert [d.message for d in remaining] == ["cannot ship o6"]


async def test_a_payload_that_does_not_decode_is_a_dead_letter(h: Harness) -> None:
    """An event whose payload does not fit the subscription's type is dead-lettered, not retried."""
    await h.bus.publish([envelope("bad-1", {"order_id": "o7", "region": 7})])
    await h.settle()
    letters = await _letters_of(h, "o7")
    assert {(d.subscription, d.error_type, d.attempts) for d in letters} == {
        ("audit", "DecodeError", 1)
    }
    assert handled == []
