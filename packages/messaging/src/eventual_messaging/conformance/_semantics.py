"""Event and subscription semantics of a whole service, in real time, on any runtime."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from eventual import Workflow
from eventual.spi import DeadLetter, EventBus, EventEnvelope, SubscriptionDelivery

from .shipping import SOURCE, Shipped, accepted, calls, handled, ship, shipped


class SemanticsHarness(Protocol):
    """What the subscription semantics need of a runtime running the ``shipping`` service.

    A harness may serve several tests, so each test looks only at its own events.
    """

    @property
    def bus(self) -> EventBus:
        """The runtime's event bus."""

    @property
    def delivery(self) -> SubscriptionDelivery:
        """The service's subscription delivery: pending work, dead letters, redrive."""

    async def start(self, workflow: Workflow[Any, Any], input: Any) -> Any:
        """Start an execution; return its handle."""

    async def settle(self) -> None:
        """Wait until every delivery due within a few seconds has run (retries included)."""


def _envelope(id_: str, payload: Any) -> EventEnvelope:
    """Return a ``Shipped`` event as the service would publish it."""
    return EventEnvelope(
        id=id_, source=SOURCE, name="Shipped", time=datetime.now(UTC), payload=payload
    )


async def _letters_of(h: SemanticsHarness, *order_ids: str) -> list[DeadLetter]:
    """Return the dead letters of events about ``order_ids`` (a runtime may hold others)."""
    letters = await h.delivery.dead_letters()
    return [
        d
        for d in letters
        if isinstance(d.event.payload, dict) and d.event.payload.get("order_id") in order_ids
    ]


class SubscriptionSemantics:
    """Publishing, routing, retries and dead letters of the ``shipping`` service on a runtime.

    Subclass it in a test module and give it an ``h`` fixture: a
    :class:`SemanticsHarness` whose runtime runs
    :mod:`eventual_messaging.conformance.shipping`, with
    :func:`~eventual_messaging.conformance.shipping.reset` called before each test.
    The published events go through the ambient client, which must be the runtime's.
    """

    async def test_a_publish_reaches_every_matching_subscription(self, h: SemanticsHarness) -> None:
        """An event reaches each subscription whose filter it matches, once, and no other."""
        await shipped.publish(Shipped("o1", "eu"), Shipped("o2", "us"))
        await h.settle()
        assert sorted(handled) == ["audit o1", "audit o2", "europe o1"]

    async def test_a_workflow_publish_reaches_subscriptions(self, h: SemanticsHarness) -> None:
        """Events a workflow publishes are delivered like those published from outside."""
        handle = await h.start(ship, "w1")
        assert await handle.result() == "shipped"
        await h.settle()
        assert sorted(handled) == ["audit w1", "audit w1-us", "europe w1"]

    async def test_an_event_id_is_handled_once(self, h: SemanticsHarness) -> None:
        """The same event published again (a publisher retrying) runs each handler once."""
        again = _envelope("same-id", {"order_id": "o3", "region": "eu"})
        await h.bus.publish([again])
        await h.settle()
        await h.bus.publish([again])
        await h.settle()
        assert sorted(handled) == ["audit o3", "europe o3"]

    async def test_a_failing_handler_is_retried_until_it_succeeds(
        self, h: SemanticsHarness
    ) -> None:
        """A handler that fails with attempts left runs again after its back-off, then succeeds."""
        await shipped.publish(Shipped("o4", "flaky"))
        await h.settle()
        assert sorted(handled) == ["audit o4", "flaky o4"]
        assert calls["flaky o4"] >= 3
        assert await _letters_of(h, "o4") == []

    async def test_the_last_failure_is_a_dead_letter_that_redrive_delivers(
        self, h: SemanticsHarness
    ) -> None:
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

    async def test_a_payload_that_does_not_decode_is_a_dead_letter(
        self, h: SemanticsHarness
    ) -> None:
        """An event whose payload does not fit the subscription's type is dead-lettered."""
        await h.bus.publish([_envelope("bad-1", {"order_id": "o7", "region": 7})])
        await h.settle()
        letters = await _letters_of(h, "o7")
        assert {(d.subscription, d.error_type, d.attempts) for d in letters} == {
            ("audit", "DecodeError", 1)
        }
        assert handled == []
