"""The eventbridge bus on moto: PutEvents, rules feeding queues, delivery, dead letters."""

from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest

from eventual import EventualError, Service
from eventual.plugins import EventualConfig, Plugins, get_plugin_manager
from eventual.spi import EventEnvelope
from eventual_aws._bus import (
    EventBridgeBus,
    EventBridgeBusConfig,
    EventTooLarge,
    PublishFailed,
    batches,
    entry_of,
    envelope_from_body,
    handle_batch,
    put_events,
)
from eventual_aws._bus._consume import Consumer
from eventual_aws._bus._store import BusStore
from eventual_aws._plan._names import queue_name

from .conftest import REGION, MakePackage

SOURCE = """
import attrs
from eventual import RetryPolicy, event, subscription
from datetime import timedelta

@attrs.frozen
class Placed:
    order_id: str
    region: str
    amount: int

placed = event("Placed", Placed)
counted = event("Counted", int)
seen: list[object] = []
failures = {"remaining": 0}

@subscription(placed, retry=RetryPolicy(max_attempts=2, initial_interval=timedelta(milliseconds=1)))
async def audit(event: Placed) -> None:
    if failures["remaining"] > 0:
        failures["remaining"] -= 1
        raise RuntimeError(f"audit is down for {event.order_id}")
    seen.append(("audit", event))

@subscription(placed.where(region="eu"))
async def europe(event: Placed) -> None:
    seen.append(("europe", event.order_id))

@subscription(counted)
async def count(n: int) -> None:
    seen.append(("count", n))
"""


def _now() -> datetime:
    return datetime.now(UTC)


class Deployed:
    """A provisioned bus, rules and queues for one test service, and its bus."""

    def __init__(self, module: ModuleType, bus: EventBridgeBus, sqs: Any) -> None:
        self.module = module
        self.service = Service.load(module.__name__)
        self.bus = bus
        self.sqs = sqs

    def envelope(self, name: str, payload: Any, *, event_id: str | None = None) -> EventEnvelope:
        return EventEnvelope(
            id=event_id or uuid.uuid4().hex,
            source="shop",
            name=name,
            time=datetime(2026, 12, 4, 12, 0, 0, 123456, tzinfo=UTC),
            payload=payload,
        )

    async def deliver_all(self, rounds: int = 5) -> int:
        delivery = await self.bus.attach(self.service, None, _now, owner="test")  # type: ignore[arg-type]
        total = 0
        for _ in range(rounds):
            total += await delivery.deliver_due()
        return total


@pytest.fixture
async def deployed(
    endpoint: str, session: boto3.Session, make_service: MakePackage
) -> AsyncIterator[Deployed]:
    """Provision what the plan would (bus, queues, dead-letter queues, rules); open the bus."""
    module_path = make_service(SOURCE)
    module = importlib.import_module(module_path)
    service = Service.load(module_path)
    suffix = uuid.uuid4().hex[:8]
    prefix = f"shop{suffix}"
    bus_name = f"bus-{suffix}"
    table = f"bus-table-{suffix}"
    events = session.client("events", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    dynamodb.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    events.create_event_bus(Name=bus_name)
    base = ""
    for subscription in service.subscriptions.values():
        dead = sqs.create_queue(
            QueueName=queue_name(prefix, f"subscription-{subscription.name}-dlq")
        )["QueueUrl"]
        dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        url = sqs.create_queue(
            QueueName=queue_name(prefix, f"subscription-{subscription.name}"),
            Attributes={
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 5})
            },
        )["QueueUrl"]
        base = url.rsplit("/", 1)[0] + "/"
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for index, pattern in enumerate(subscription.patterns()):
            rule = f"{subscription.name}-{index}-{suffix}"
            events.put_rule(Name=rule, EventBusName=bus_name, EventPattern=json.dumps(pattern))
            events.put_targets(
                Rule=rule, EventBusName=bus_name, Targets=[{"Id": "queue", "Arn": arn}]
            )
    config = EventBridgeBusConfig(
        bus_name=bus_name,
        table=table,
        queue_prefix=prefix,
        queue_url_base=base,
        region=REGION,
        endpoint_url=endpoint,
    )
    bus = await EventBridgeBus(config, session=session).open()
    try:
        yield Deployed(module, bus, sqs)
    finally:
        await bus.close()


async def test_a_published_event_reaches_its_subscription_with_its_envelope(
    deployed: Deployed,
) -> None:
    """An event put on the bus is delivered, decoded to its type, with its id and exact time."""
    payload = {"order_id": "o1", "region": "us", "amount": 3}
    envelope = deployed.envelope("Placed", payload)
    await deployed.bus.publish([envelope])
    assert await deployed.deliver_all() >= 1
    placed_type = deployed.module.Placed
    assert ("audit", placed_type("o1", "us", 3)) in deployed.module.seen
    # The filter (region == "eu") is an EventBridge rule: a US order never reaches it.
    assert not [entry for entry in deployed.module.seen if entry[0] == "europe"]
    detail = json.loads(entry_of(envelope, "b")["Detail"])
    assert envelope_from_body(json.dumps(_event_document(detail))) == envelope


def _event_document(detail: dict[str, Any], name: str = "Placed") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "x",
        "detail-type": name,
        "source": "shop",
        "time": "2026-12-04T12:00:00Z",
        "detail": detail,
    }


async def test_a_filtered_subscription_receives_only_matching_events(deployed: Deployed) -> None:
    """The rule built from ``where(region="eu")`` delivers European orders only."""
    await deployed.bus.publish(
        [
            deployed.envelope("Placed", {"order_id": "eu1", "region": "eu", "amount": 1}),
            deployed.envelope("Placed", {"order_id": "us1", "region": "us", "amount": 1}),
        ]
    )
    await deployed.deliver_all()
    assert [entry for entry in deployed.module.seen if entry[0] == "europe"] == [("europe", "eu1")]


async def test_a_payload_that_is_not_an_object_round_trips(deployed: Deployed) -> None:
    """An int payload travels wrapped (EventBridge needs an object) and arrives as an int."""
    await deployed.bus.publish([deployed.envelope("Counted", 41)])
    await deployed.deliver_all()
    assert ("count", 41) in deployed.module.seen


async def test_an_event_published_twice_runs_the_handler_once(deployed: Deployed) -> None:
    """Republishing an envelope id (a publisher retrying after a crash) is delivered once."""
    envelope = deployed.envelope("Counted", 7, event_id="same-id")
    await deployed.bus.publish([envelope])
    await deployed.deliver_all()
    await deployed.bus.publish([envelope])
    await deployed.deliver_all()
    assert deployed.module.seen.count(("count", 7)) == 1


async def test_a_failing_handler_is_retried_then_dead_lettered_and_redriven(
    deployed: Deployed,
) -> None:
    """Two failed attempts make a dead letter naming the error; redriving delivers it again."""
    deployed.module.failures["remaining"] = 2
    await deployed.bus.publish(
        [deployed.envelope("Placed", {"order_id": "o9", "region": "us", "amount": 1})]
    )
    await deployed.deliver_all(rounds=6)
    delivery = await deployed.bus.attach(deployed.service, None, _now, owner="t")  # type: ignore[arg-type]
    letters = await delivery.dead_letters()
    assert [(d.subscription, d.error_type, d.attempts) for d in letters] == [
        ("audit", "RuntimeError", 2)
    ]
    assert "audit is down for o9" in letters[0].message
    assert not [entry for entry in deployed.module.seen if entry[0] == "audit"]
    assert await delivery.redrive() == 1
    await deployed.deliver_all()
    assert [entry[1].order_id for entry in deployed.module.seen if entry[0] == "audit"] == ["o9"]
    assert await delivery.dead_letters() == []


async def test_a_payload_that_does_not_decode_is_dead_lettered_at_once(deployed: Deployed) -> None:
    """A payload missing a field is a DecodeError dead letter after one attempt."""
    await deployed.bus.publish([deployed.envelope("Placed", {"order_id": "o1"})])
    await deployed.deliver_all()
    delivery = await deployed.bus.attach(deployed.service, None, _now, owner="t")  # type: ignore[arg-type]
    letters = await delivery.dead_letters()
    assert {(d.subscription, d.error_type, d.attempts) for d in letters} == {
        ("audit", "DecodeError", 1)
    }


async def test_a_malformed_message_is_kept_as_a_dead_letter(deployed: Deployed) -> None:
    """A queue message that is not an eventual event is dead-lettered with its body kept."""
    url = deployed.bus.config.queue_url("count")
    deployed.sqs.send_message(QueueUrl=url, MessageBody="not json at all")
    await deployed.deliver_all()
    delivery = await deployed.bus.attach(deployed.service, None, _now, owner="t")  # type: ignore[arg-type]
    [letter] = await delivery.dead_letters()
    assert letter.error_type == "MalformedEvent"
    assert letter.event.payload == "not json at all"


async def test_messages_in_a_dead_letter_queue_are_listed(deployed: Deployed) -> None:
    """A message SQS moved to the queue's dead-letter queue is listed as DeliveryFailed."""
    body = json.dumps(
        _event_document(
            json.loads(entry_of(deployed.envelope("Counted", 3), "b")["Detail"]), "Counted"
        )
    )
    deployed.sqs.send_message(
        QueueUrl=deployed.bus.config.queue_url("count", dead=True), MessageBody=body
    )
    delivery = await deployed.bus.attach(deployed.service, None, _now, owner="t")  # type: ignore[arg-type]
    [letter] = await delivery.dead_letters()
    assert (letter.subscription, letter.error_type, letter.event.payload) == (
        "count",
        "DeliveryFailed",
        3,
    )
    assert await delivery.redrive([letter.id]) == 1
    await deployed.deliver_all()
    assert ("count", 3) in deployed.module.seen


async def test_an_event_over_256_kb_is_refused_naming_it(deployed: Deployed) -> None:
    """EventBridge carries at most 256 KB per event: a larger one fails before any request."""
    big = deployed.envelope("Placed", {"order_id": "x" * 300_000, "region": "eu", "amount": 1})
    with pytest.raises(EventTooLarge, match=r"event 'Placed' .* over its limit"):
        await deployed.bus.publish([big])


def test_batches_hold_at_most_ten_entries_and_256_kb() -> None:
    """Entries are split into PutEvents requests within both of EventBridge's caps."""
    small = [entry_of(_envelope(i, "x"), "b") for i in range(23)]
    assert [len(batch) for batch in batches(small)] == [10, 10, 3]
    large = [entry_of(_envelope(i, "y" * 100_000), "b") for i in range(5)]
    assert [len(batch) for batch in batches(large)] == [2, 2, 1]


def _envelope(index: int, text: str) -> EventEnvelope:
    return EventEnvelope(
        id=f"e{index}", source="shop", name="Noted", time=datetime.now(UTC), payload={"t": text}
    )


class _FlakyEvents:
    """Stands in for the EventBridge client: fails chosen entries with chosen codes."""

    def __init__(self, codes: list[dict[int, str]]) -> None:
        self.codes = codes
        self.requests: list[list[str]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append([json.loads(e["Detail"])["_eventual"]["id"] for e in Entries])
        failing = self.codes.pop(0) if self.codes else {}
        results = [
            {"ErrorCode": failing[i], "ErrorMessage": "nope"} if i in failing else {"EventId": "x"}
            for i in range(len(Entries))
        ]
        return {"FailedEntryCount": len(failing), "Entries": results}


class _Clients:
    def __init__(self, events: _FlakyEvents) -> None:
        self.events = events

    async def call(self, function: Callable[..., Any], /, **kwargs: Any) -> Any:
        return function(**kwargs)


async def _no_sleep(_: float) -> None:
    return None


async def test_entries_that_failed_are_sent_again_alone() -> None:
    """A throttled entry in a partly failed answer is retried; the others are not resent."""
    events = _FlakyEvents([{1: "ThrottlingException"}])
    entries = [entry_of(_envelope(i, "x"), "b") for i in range(3)]
    await put_events(_Clients(events), entries, sleep=_no_sleep)  # type: ignore[arg-type]
    assert events.requests == [["e0", "e1", "e2"], ["e1"]]


async def test_an_entry_refused_for_what_it_is_fails_at_once_naming_it() -> None:
    """A malformed entry is not retried: the error names the event and EventBridge's code."""
    events = _FlakyEvents([{0: "MalformedDetail"}])
    with pytest.raises(PublishFailed, match=r"event 'Noted' \(e0\): MalformedDetail"):
        await put_events(
            _Clients(events),  # type: ignore[arg-type]
            [entry_of(_envelope(0, "x"), "b")],
            sleep=_no_sleep,
        )
    assert len(events.requests) == 1


async def test_entries_that_keep_failing_give_up_after_the_last_attempt() -> None:
    """An entry throttled on every attempt fails after ``attempts`` tries, saying so."""
    events = _FlakyEvents([{0: "ThrottlingException"}] * 10)
    with pytest.raises(PublishFailed, match="after 3 attempts"):
        await put_events(
            _Clients(events),  # type: ignore[arg-type]
            [entry_of(_envelope(0, "x"), "b")],
            attempts=3,
            sleep=_no_sleep,
        )


async def test_a_lambda_batch_reports_only_the_deliveries_to_retry(deployed: Deployed) -> None:
    """In an SQS batch, a failed delivery with attempts left is a batch item failure, held back."""
    deployed.module.failures["remaining"] = 1
    bus = deployed.bus
    store = BusStore(bus.clients, bus.config.table, "shop", dedup_window=timedelta(days=7))
    consumer = Consumer(deployed.service, None, store, _now)
    placed = json.loads(
        entry_of(deployed.envelope("Placed", {"order_id": "b1", "region": "us", "amount": 1}), "b")[
            "Detail"
        ]
    )
    counted = json.loads(entry_of(deployed.envelope("Counted", 5), "b")["Detail"])
    held: list[tuple[str, str, int]] = []

    async def change_visibility(url: str, receipt: str, seconds: int) -> None:
        held.append((url, receipt, seconds))

    records = [
        {
            "messageId": "m1",
            "receiptHandle": "r1",
            "body": json.dumps(_event_document(placed)),
            "attributes": {"ApproximateReceiveCount": "1"},
        },
        {
            "messageId": "m2",
            "receiptHandle": "r2",
            "body": json.dumps(_event_document(counted, "Counted")),
            "attributes": {"ApproximateReceiveCount": "1"},
        },
    ]
    answer = await handle_batch(
        records[:1],
        subscription="audit",
        consumer=consumer,
        config=bus.config,
        change_visibility=change_visibility,
    )
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert held == [(bus.config.queue_url("audit"), "r1", 0)]
    answer = await handle_batch(
        records[1:],
        subscription="count",
        consumer=consumer,
        config=bus.config,
        change_visibility=change_visibility,
    )
    assert answer == {"batchItemFailures": []}
    assert ("count", 5) in deployed.module.seen


PLAN_ENVIRONMENT = {
    "EVENTUAL_AWS_EVENT_BUS_NAME": "orders-bus",
    "EVENTUAL_AWS_TABLE": "orders-table",
    "EVENTUAL_AWS_QUEUE_PREFIX": "orders",
    "EVENTUAL_AWS_WORKFLOW_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/orders-workflow.fifo",
}


def test_the_installed_distribution_provides_the_eventbridge_bus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``event_bus = "eventbridge"`` is configured from the environment the plan sets."""
    for name, value in PLAN_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    provider = Plugins(get_plugin_manager(autoload=True)).event_bus("eventbridge")
    bus = provider.create(EventualConfig(event_bus="eventbridge"))
    assert isinstance(bus, EventBridgeBus)
    assert bus.config.bus_name == "orders-bus"
    assert bus.config.queue_url("audit") == (
        "https://sqs.eu-west-1.amazonaws.com/1/orders-subscription-audit"
    )
    assert bus.config.queue_url("audit", dead=True).endswith("/orders-subscription-audit-dlq")


def test_a_missing_bus_setting_is_named() -> None:
    """Without the plan's environment, the error names every variable to set."""
    with pytest.raises(EventualError, match="EVENTUAL_AWS_EVENT_BUS_NAME, EVENTUAL_AWS_TABLE"):
        EventBridgeBusConfig.from_config(EventualConfig(event_bus="eventbridge"), {})
    config = EventBridgeBusConfig.from_config(
        EventualConfig(event_bus="eventbridge", options={"aws_event_bus_name": "other"}),
        PLAN_ENVIRONMENT,
    )
    assert config.bus_name == "other"
    assert config.dedup_window == timedelta(days=7)
    longer = EventualConfig(event_bus="eventbridge", options={"bus_dedup_days": "30"})
    assert EventBridgeBusConfig.from_config(longer, PLAN_ENVIRONMENT).dedup_window == timedelta(
        days=30
    )
    for bad in ("soon", "-1"):
        wrong = EventualConfig(event_bus="eventbridge", options={"bus_dedup_days": bad})
        with pytest.raises(EventualError, match="bus_dedup_days must be a positive number"):
            EventBridgeBusConfig.from_config(wrong, PLAN_ENVIRONMENT)


async def test_publishing_before_open_says_so() -> None:
    """A bus used before ``open()`` fails with an error saying what to do."""
    bus = EventBridgeBus(EventBridgeBusConfig.from_config(EventualConfig(), PLAN_ENVIRONMENT))
    with pytest.raises(EventualError, match=r"await bus.open\(\) first"):
        await bus.publish([_envelope(0, "x")])
