"""Tests for events and subscriptions (``eventual._event``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import attrs
import pytest

from eventual import (
    Event,
    RetryPolicy,
    RuntimeNotAvailable,
    Service,
    Subscription,
    ValidationError,
    event,
    prefix,
    subscription,
)
from eventual.codec import JsonValue
from eventual.spi import use_client


@attrs.frozen
class Shipped:
    order_id: str
    quantity: int


shipped: Event[Shipped] = event("Shipped", Shipped)


class Recorder:
    """Stands in for a runtime's client; records what is published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, JsonValue]] = []

    async def publish_events(self, events: Sequence[tuple[str, JsonValue]]) -> None:
        self.published.extend(events)


async def test_publish_hands_encoded_payloads_to_the_client() -> None:
    """Outside a workflow, publish sends (name, JSON payload) pairs to the ambient client."""
    recorder = Recorder()
    with use_client(recorder):  # type: ignore[arg-type]
        await shipped.publish(Shipped("o1", 2), Shipped("o2", 1))
        await shipped.publish()
    assert recorder.published == [
        ("Shipped", {"order_id": "o1", "quantity": 2}),
        ("Shipped", {"order_id": "o2", "quantity": 1}),
    ]


async def test_publishing_a_payload_of_the_wrong_type_fails_naming_the_field() -> None:
    """A payload that does not fit the event's type fails at the publisher, nothing is sent."""
    recorder = Recorder()
    with use_client(recorder):  # type: ignore[arg-type]
        with pytest.raises(ValidationError) as caught:
            await shipped.publish(Shipped("o1", 1), Shipped("o2", "many"))  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="expected Shipped"):
            await shipped.publish({"order_id": "o3", "quantity": 1})  # type: ignore[arg-type]
    assert str(caught.value) == 'event Shipped.quantity: expected int, got "many"'
    assert caught.value.path == "event Shipped.quantity"
    assert recorder.published == []


async def test_publish_without_a_runtime_says_what_is_missing() -> None:
    """Publishing with no runtime active raises RuntimeNotAvailable naming the event."""
    with pytest.raises(RuntimeNotAvailable, match=r"Shipped\.publish"):
        await shipped.publish(Shipped("o1", 1))


def test_decode_payload_names_the_event_and_field() -> None:
    """An incoming payload that does not decode names the event and the field."""
    assert shipped.decode_payload({"order_id": "o", "quantity": 1}) == Shipped("o", 1)
    with pytest.raises(ValidationError, match="event Shipped: missing required field"):
        shipped.decode_payload({"order_id": "o"})


def test_subscription_accepts_events_and_filters() -> None:
    """Filters and plain events may be mixed; events are listed once, patterns one per argument."""

    @subscription(shipped.where(order_id=prefix("eu-")), shipped.where(quantity=1))
    async def eu_or_single(s: Shipped) -> None: ...

    assert eu_or_single.events == (shipped,)
    assert eu_or_single.event_named("Shipped") is shipped
    assert eu_or_single.event_named("Other") is None
    assert eu_or_single.patterns() == [
        {"detail-type": ["Shipped"], "detail": {"order_id": [{"prefix": "eu-"}]}},
        {"detail-type": ["Shipped"], "detail": {"quantity": [1]}},
    ]


def test_subscription_patterns_are_in_the_manifest() -> None:
    """The manifest lists each subscription's EventBridge patterns for deploy targets."""
    other = event("Other", int)

    @subscription(shipped.where(quantity=1), other, retry=RetryPolicy(max_attempts=2))
    async def watch(s: Shipped) -> None: ...

    manifest = json.loads(Service.from_definitions("svc", [watch]).manifest_json())
    (entry,) = manifest["subscriptions"]
    assert entry["events"] == ["Shipped", "Other"]
    assert entry["patterns"] == [
        {"detail-type": ["Shipped"], "detail": {"quantity": [1]}},
        {"detail-type": ["Other"]},
    ]


def test_subscription_rejects_what_is_not_an_event() -> None:
    """Passing something other than an event or a filter fails at definition time."""
    with pytest.raises(TypeError, match="is neither an event nor a filter"):

        @subscription("Shipped")  # type: ignore[arg-type]
        async def wrong(s: Shipped) -> None: ...


def test_subscription_checks_its_handler() -> None:
    """The handler must be an async def of one parameter and name at least one event."""

    def sync(s: Shipped) -> None: ...

    async def two(a: Shipped, b: Shipped) -> None: ...

    async def sync_free(a: Shipped) -> None: ...

    with pytest.raises(TypeError, match="needs an async def"):
        Subscription(sync, (shipped,))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="exactly one payload parameter"):
        Subscription(two, (shipped,))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="names no events"):
        Subscription(sync_free, ())


def test_subscription_names_a_retry_that_is_not_a_policy() -> None:
    """A wrong retry= is rejected with the value given."""

    async def handle(s: Shipped) -> None: ...

    with pytest.raises(TypeError, match=r"retry must be a RetryPolicy, got 3"):
        Subscription(handle, (shipped,), retry=3)  # type: ignore[arg-type]


def test_subscription_rejects_two_types_for_one_event_name() -> None:
    """Two events of one name but different types would leave decoding ambiguous."""
    other = event("Shipped", int)

    async def handle(s: Shipped) -> None: ...

    with pytest.raises(TypeError, match=r"event 'Shipped' twice, with types Shipped and int"):
        Subscription(handle, (shipped, other))
    same = event("Shipped", Shipped)  # declared again with the same type: fine
    assert Subscription(handle, (shipped, same)).event_named("Shipped") is shipped
