"""Events in a test environment: publish, published, subscriptions, retries, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from eventual import RetryPolicy, Service, ValidationError, event, subscription, workflow
from eventual.spi import EventEnvelope
from eventual_messaging import MemoryBus
from eventual_testing import TestEnvironment
from eventual_testing._bus import RecordingBus


@attrs.frozen
class Shipped:
    order_id: str


shipped = event("Shipped", Shipped)
other = event("Other", int)

received: list[str] = []
failures: dict[str, int] = {}


@subscription(shipped, retry=RetryPolicy(max_attempts=3, initial_interval=timedelta(minutes=1)))
async def notify(payload: Shipped) -> None:
    left = failures.get(payload.order_id, 0)
    if left:
        failures[payload.order_id] = left - 1
        raise ConnectionError(f"mail server down ({left} left)")
    received.append(payload.order_id)


@workflow
async def ship(order_id: str) -> None:
    await shipped.publish(Shipped(order_id))


SERVICE = Service.from_definitions("shipping", [shipped, other, notify, ship])


async def test_published_lists_payloads_from_tests_and_workflows() -> None:
    """published(event) has every payload of that event, from anywhere, once each."""
    received.clear()
    async with TestEnvironment(SERVICE) as env:
        await env.publish(shipped, Shipped("t1"), Shipped("t2"))
        await other.publish(7)  # the ambient client publishes through the same bus
        handle = await env.start(ship, "w1")
        await handle.result()
        assert env.published(shipped) == [Shipped("t1"), Shipped("t2"), Shipped("w1")]
        assert env.published(other) == [7]
        assert received == ["t1", "t2", "w1"]


async def test_subscription_retries_follow_the_virtual_clock() -> None:
    """A failing handler is retried after its back-off, which only advance makes pass."""
    received.clear()
    failures["r1"] = 1
    async with TestEnvironment(SERVICE) as env:
        await env.publish(shipped, Shipped("r1"))
        await env.run_until_idle()
        assert received == []
        assert await env.next_due() == env.now + timedelta(minutes=1)
        await env.advance(timedelta(minutes=1))
        assert received == ["r1"]


async def test_dead_letters_are_visible() -> None:
    """After its last attempt an event lands in the dead letters, with the error."""
    received.clear()
    failures["d1"] = 10
    async with TestEnvironment(SERVICE) as env:
        await env.publish(shipped, Shipped("d1"))
        await env.advance(timedelta(hours=1))
        letters = await env.dead_letters()
    failures.clear()
    assert [(d.subscription, d.error_type, d.attempts) for d in letters] == [
        ("notify", "ConnectionError", 3)
    ]
    assert received == []


async def test_the_recording_bus_records_an_envelope_id_once() -> None:
    """Publishing the same envelope id again (a retried relay) is recorded once."""
    bus = RecordingBus(MemoryBus())
    await bus.open()
    envelope = EventEnvelope(
        id="e1", source="s", name="Other", time=datetime(2026, 1, 1, tzinfo=UTC), payload=1
    )
    await bus.publish([envelope])
    await bus.publish([envelope])
    await bus.close()
    assert bus.envelopes == [envelope]


async def test_publishing_a_payload_of_the_wrong_type_is_refused() -> None:
    """env.publish checks each payload against the event's type before publishing."""
    async with TestEnvironment(SERVICE) as env:
        with pytest.raises(ValidationError):
            await env.publish(other, "not an int")  # type: ignore[misc]
        assert env.published(other) == []
