"""The handlers under crashes, duplicates and bad input: redelivery recovers, nothing is lost."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import boto3
import pytest

from eventual import ExecutionStatus
from eventual.spi import DeadLetter
from eventual_aws._backend._items import shard_of
from eventual_aws._lambda import CRASH_POINTS, BadEvent, InjectedCrash, _common, close_runtimes

from .conftest import MakePackage
from .handlers_support import Context, Deployed
from .test_handlers import SOURCE


@pytest.fixture
async def deployed(
    endpoint: str,
    session: boto3.Session,
    make_service: MakePackage,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Deployed]:
    """The test service on moto, with claims lasting only as long as the invocation."""
    monkeypatch.setattr(_common, "_MARGIN", timedelta(0))
    module = make_service(SOURCE)
    importlib.import_module(module)
    deployed = await Deployed(module, endpoint, session).provision()
    deployed.context = lambda: Context(remaining_ms=300)
    yield deployed
    await close_runtimes()


async def _pump_through_crashes(deployed: Deployed) -> int:
    """Pump until idle, treating each injected crash as a dead function whose batch comes back."""
    crashes = 0
    for _ in range(20):
        try:
            await deployed.pump()
        except InjectedCrash:
            crashes += 1
            await asyncio.sleep(0.4)  # the dead function's claims lapse
            deployed.expire_visibility()
            continue
        return crashes
    raise AssertionError("the queues never settled")


WORKER_POINTS = sorted(p for p in CRASH_POINTS if p.split(".")[0] in ("orchestrator", "task"))


@pytest.mark.parametrize("point", WORKER_POINTS)
async def test_a_crash_at_any_point_is_recovered_by_redelivery(
    deployed: Deployed, point: str
) -> None:
    """A function dying at any point leaves work its redelivered message finishes, once."""
    module = importlib.import_module(deployed.module)
    for function in ("orchestrator", "task-double"):
        deployed.runtime(function).faults.arm(point)
    client = deployed.runtime().client
    execution = await client.start_execution("chain", 3, "crash")
    assert await _pump_through_crashes(deployed) >= 1
    record = await client.execution_record(execution)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, 6)
    history = [event.type for event in await client.execution_history(execution)]
    assert history.count("TaskSucceeded") == 3
    runs = [entry for entry in module.ran if entry.startswith("double")]
    # A task is at least once: only a crash after its body ran runs it again.
    assert len(runs) == (4 if point == "task.ran" else 3)


async def test_a_crash_firing_a_timer_is_recovered_by_redelivery(deployed: Deployed) -> None:
    """A timer function dying after its claim, or after firing, still wakes the workflow once."""
    runtime = deployed.runtime("timer")
    runtime.faults.arm("timer.claimed")
    runtime.faults.arm("timer.fired")
    client = deployed.runtime().client
    execution = await client.start_execution("short", "nap", "crash-timer")
    crashes = 0

    async def pump() -> None:
        nonlocal crashes
        crashes += await _pump_through_crashes(deployed)

    async def ended() -> bool:
        return (await client.execution_record(execution)).status is not ExecutionStatus.RUNNING

    await deployed.pump_until(ended, pump=pump)
    assert crashes >= 1
    record = await client.execution_record(execution)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, "nap slept")
    history = [event.type for event in await client.execution_history(execution)]
    assert history.count("TimerFired") == 1


async def test_duplicate_deliveries_change_nothing_observable(deployed: Deployed) -> None:
    """Every message handed to its function twice gives the same history, result and task runs."""
    module = importlib.import_module(deployed.module)
    deployed.duplicates = True
    client = deployed.runtime().client
    execution = await client.start_execution("chain", 3, "twice")
    await deployed.pump()
    record = await client.execution_record(execution)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, 6)
    history = [event.type for event in await client.execution_history(execution)]
    assert history.count("TaskScheduled") == history.count("TaskSucceeded") == 3
    assert len([e for e in module.ran if e.startswith("double")]) == 3
    assert module.received == ["chain 6"]


def _function_of(deployed: Deployed, subscription: str) -> str:
    return next(
        f.name
        for f in deployed.plan.functions
        if f.environment.get("EVENTUAL_AWS_SUBSCRIPTION") == subscription
    )


@pytest.mark.parametrize("point", ["subscription.handled", "subscription.delivered"])
async def test_a_subscription_crash_is_recovered_by_redelivery(
    deployed: Deployed, point: str
) -> None:
    """A subscription dying with attempts left handles its event again only if it was unrecorded."""
    module = importlib.import_module(deployed.module)
    deployed.runtime(_function_of(deployed, "note")).faults.arm(point)
    client = deployed.runtime().client
    await client.start_execution("chain", 2, "crash-note")
    assert await _pump_through_crashes(deployed) == 1
    assert await _pump_through_crashes(deployed) == 0
    # Only a crash between the handler's return and the record of its delivery
    # runs it again (handlers are at least once); after that, the id is known.
    assert module.received == ["chain 2"] * (2 if point == "subscription.handled" else 1)


async def _dead_letters(deployed: Deployed) -> list[DeadLetter]:
    runtime = deployed.runtime()
    delivery = await runtime.bus.attach(runtime.service, runtime.client, runtime.now, owner="t")
    return await delivery.dead_letters()


@pytest.mark.parametrize("point", ["subscription.dead_lettered", "subscription.delivered"])
async def test_a_crash_after_giving_up_stores_one_dead_letter(
    deployed: Deployed, point: str
) -> None:
    """A subscription function dying after it stored a dead letter stores no second one."""
    module = importlib.import_module(deployed.module)
    deployed.runtime(_function_of(deployed, "refuse")).faults.arm(point)
    client = deployed.runtime().client
    await client.publish_events([("Refused", "r1")])
    assert await _pump_through_crashes(deployed) == 1
    (letter,) = await _dead_letters(deployed)
    assert (letter.subscription, letter.error_type) == ("refuse", "ValueError")
    assert letter.message == "cannot take r1"
    module.accepting["now"] = True
    runtime = deployed.runtime()
    delivery = await runtime.bus.attach(runtime.service, runtime.client, runtime.now, owner="t")
    assert await delivery.redrive() == 1
    await _pump_through_crashes(deployed)
    assert module.taken == ["r1"]
    assert await _dead_letters(deployed) == []


@pytest.mark.parametrize("point", ["subscription.handled", "subscription.delivered"])
async def test_a_crash_at_the_last_attempt_dead_letters_only_an_unrecorded_delivery(
    deployed: Deployed, point: str
) -> None:
    """A crash on the last attempt leaves a dead letter unless the handling was recorded."""
    module = importlib.import_module(deployed.module)
    module.accepting["now"] = True
    deployed.runtime(_function_of(deployed, "refuse")).faults.arm(point)
    await deployed.runtime().client.publish_events([("Refused", "r1")])
    assert await _pump_through_crashes(deployed) == 1
    assert module.taken == ["r1"]
    letters = await _dead_letters(deployed)
    if point == "subscription.delivered":
        assert letters == []
    else:
        (letter,) = letters
        assert (letter.error_type, letter.attempts) == ("DeliveryFailed", 1)


async def test_a_message_handed_over_twice_at_its_last_attempt_stores_one_dead_letter(
    deployed: Deployed,
) -> None:
    """Every message delivered twice still leaves one dead letter per event that failed."""
    deployed.duplicates = True
    client = deployed.runtime().client
    await client.publish_events([("Refused", "r1"), ("Refused", "r2")])
    await deployed.pump()
    letters = await _dead_letters(deployed)
    assert sorted(letter.message for letter in letters) == ["cannot take r1", "cannot take r2"]


@pytest.mark.parametrize(
    "point", ["forwarder.received", "timer.claimed", "timer.fired", "forwarder.handled"]
)
async def test_a_forwarder_crash_is_recovered_when_the_scheduler_retries(
    deployed: Deployed, point: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forwarder dying at any point wakes the workflow once when its schedule runs again."""
    client = deployed.runtime().client
    execution = await client.start_execution("month", "bear", "crash-forwarder")
    await deployed.pump()
    (schedule,) = deployed.schedules()
    payload = json.loads(schedule["Target"]["Input"])
    runtime = deployed.runtime("forwarder")
    later = runtime.clock.now() + timedelta(days=30, seconds=1)
    monkeypatch.setattr(runtime.clock, "now", lambda: later)
    runtime.faults.arm(point)
    with pytest.raises(InjectedCrash):
        await deployed.invoke("forwarder", payload)
    await asyncio.sleep(0.4)  # the dead invocation's claim lapses
    # The Scheduler invokes the target again (its retry policy) with the same input.
    retried = await deployed.invoke("forwarder", payload)
    assert retried["outcome"] == (
        "gone" if point in ("timer.fired", "forwarder.handled") else "fired"
    )
    await deployed.pump()
    record = await client.execution_record(execution)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, "bear woke")
    history = [event.type for event in await client.execution_history(execution)]
    assert history.count("TimerFired") == 1


@pytest.mark.parametrize("function", ["orchestrator", "task-double", "timer"])
async def test_a_body_that_is_not_a_doorbell_is_acknowledged_and_logged(
    deployed: Deployed, function: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A malformed SQS body is not retried (it never could succeed) and the log says what it was."""
    queue = next(s.queue for s in deployed.plan.function(function).event_sources)
    bodies = ["not json", json.dumps([1]), json.dumps({"other": "x"})]
    records = [deployed.record(queue, body, message_id=f"m{i}") for i, body in enumerate(bodies)]
    with caplog.at_level(logging.ERROR, logger="eventual.aws.lambda"):
        answer = await deployed.invoke(function, {"Records": records})
    assert answer == {"batchItemFailures": []}
    assert "the body is not JSON" in caplog.text
    assert "m2: the body has no" in caplog.text


async def test_doorbells_for_unknown_work_are_acknowledged(deployed: Deployed) -> None:
    """An unknown execution, task token or timer finds nothing to do and is not retried."""
    cases = {
        "orchestrator": {"execution_id": "chain/ghost", "id": "x"},
        "task-double": {"token": "chain/ghost|1|1"},
        "timer": {"timer_id": "chain/ghost|timer|1|1"},
    }
    for function, body in cases.items():
        queue = next(s.queue for s in deployed.plan.function(function).event_sources)
        record = deployed.record(queue, json.dumps(body), receive_count=2)
        assert await deployed.invoke(function, {"Records": [record]}) == {"batchItemFailures": []}
    answer = await deployed.invoke("forwarder", {"timer_id": "chain/ghost|timer|1|1"})
    assert answer == {"timer_id": "chain/ghost|timer|1|1", "outcome": "gone"}


@pytest.mark.parametrize("event", [{}, {"Records": "no"}, {"Records": [{"body": "{}"}]}, []])
async def test_an_event_that_is_not_an_sqs_batch_fails_the_invocation(
    deployed: Deployed, event: object
) -> None:
    """A wrong event shape raises an error naming it; SQS retries, then dead-letters the batch."""
    with pytest.raises(BadEvent, match="SQS"):
        await deployed.invoke("orchestrator", event)


async def test_the_forwarder_refuses_an_input_naming_no_timer(deployed: Deployed) -> None:
    """A schedule input without a timer id is reported invalid instead of retried forever."""
    assert await deployed.invoke("forwarder", {"due": "2026-01-01T00:00:00+00:00"}) == {
        "timer_id": None,
        "outcome": "invalid",
    }


async def test_one_failing_record_does_not_fail_the_batch(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the store fails for one execution, only its doorbell is reported failed."""
    client = deployed.runtime().client
    first = await client.start_execution("waits", "a", "one")
    second = await client.start_execution("waits", "b", "two")
    messages = await deployed.receive("queue.workflow")
    assert len(messages) == 2
    runtime = deployed.runtime()
    claim = runtime.backend.queue.claim_execution

    async def flaky(execution_id: str, owner: str, lease: timedelta) -> object:
        if execution_id == first:
            raise ConnectionError("DynamoDB is unreachable")
        return await claim(execution_id, owner, lease)

    monkeypatch.setattr(runtime.backend.queue, "claim_execution", flaky)
    answer = await deployed.deliver("queue.workflow", messages)
    failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
    assert failed == {m["MessageId"] for m in messages if first in m["Body"]}
    # The other execution took its step; the failed one's start still waits.
    monkeypatch.undo()
    probe = timedelta(seconds=1)
    assert await runtime.backend.queue.claim_execution(second, "probe", probe) is None
    assert await runtime.backend.queue.claim_execution(first, "probe", probe) is not None


@pytest.fixture(params=[1, 4], ids=lambda count: f"{count}-outbox-shards")
async def outboxed(
    request: pytest.FixtureRequest,
    endpoint: str,
    session: boto3.Session,
    make_service: MakePackage,
) -> AsyncIterator[Deployed]:
    """The test service on moto, planned with one outbox shard or with four."""
    module = make_service(SOURCE)
    importlib.import_module(module)
    shards = {"outbox_shards": int(request.param)}
    yield await Deployed(module, endpoint, session, shards=shards).provision()
    await close_runtimes()


async def test_events_a_crash_left_in_any_outbox_shard_are_relayed_once(outboxed: Deployed) -> None:
    """Orchestrators dying between commit and relay lose no event, whichever shard holds it."""
    module = importlib.import_module(outboxed.module)
    runtime = outboxed.runtime()
    shards = runtime.backend.config.outbox_shards
    texts = [f"t{i}" for i in range(8)]
    ids = [await runtime.client.start_execution("tell", text, text) for text in texts]
    assert {shard_of(execution_id, 4) for execution_id in ids} == {0, 1, 2, 3}
    messages: list[dict[str, object]] = []
    for _ in range(20):
        if len(messages) == len(ids):
            break
        messages += await outboxed.receive("queue.workflow")
    assert len(messages) == len(ids)
    for message in messages:
        runtime.faults.arm("orchestrator.committed")
        with pytest.raises(InjectedCrash):
            await outboxed.invoke("orchestrator", outboxed.event_of("queue.workflow", [message]))
    # Every step committed, and every event waits in the outbox shard of its execution.
    partitions: set[str] = set()
    for execution_id in ids:
        assert (await runtime.client.execution_record(execution_id)).result == execution_id[5:]
        async for item in runtime.backend._store.table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={":pk": {"S": f"X#{execution_id}"}, ":p": {"S": "P#"}},
        ):
            partitions.add(item["gsi2pk"]["S"])
    expected = {"outbox"} | {f"outbox#{shard}" for shard in range(1, shards)}
    assert partitions == expected
    assert module.received == []
    outboxed.expire_visibility()
    await outboxed.pump()
    assert sorted(module.received) == texts
    assert await runtime.backend.published(100) == []
