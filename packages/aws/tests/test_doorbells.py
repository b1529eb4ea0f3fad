"""Doorbells: after a commit, SQS and EventBridge Scheduler wake the function that has work."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import boto3
import pytest

from eventual.spi import Lease, StepCommit
from eventual_aws._backend import AwsBackend, AwsBackendConfig
from eventual_engine.conformance.support import (
    LONG,
    claim_one,
    consume,
    make_record,
    signal,
    start,
    started_and_claimed,
    started_of,
    task,
    timer,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

PREFIX = "orders"


@pytest.fixture
async def rung(
    endpoint: str, session: boto3.Session, fresh_config: AwsBackendConfig
) -> AsyncIterator[AwsBackend]:
    """A backend whose doorbells are moto's queues and scheduler."""
    sqs = session.client("sqs", endpoint_url=endpoint)
    workflow = sqs.create_queue(
        QueueName=f"{PREFIX}-workflow.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    timers = sqs.create_queue(QueueName=f"{PREFIX}-timer")["QueueUrl"]
    sqs.create_queue(QueueName=f"{PREFIX}-task-work")
    config = attrs.evolve(
        fresh_config,
        workflow_queue_url=workflow,
        timer_queue_url=timers,
        queue_prefix=PREFIX,
        scheduler_role_arn="arn:aws:iam::123456789012:role/scheduler",
        forwarder_arn="arn:aws:lambda:us-east-1:123456789012:function:forwarder",
        forwarder_dlq_arn="arn:aws:sqs:us-east-1:123456789012:orders-forwarder-dlq",
    )
    backend = AwsBackend(config, session=session)
    await backend.create_resources()
    yield backend
    await backend.close()
    for url in sqs.list_queues(QueueNamePrefix=PREFIX).get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)
    sqs.close()


def drain(backend: AwsBackend, url: str) -> list[MessageTypeDef]:
    """Receive every visible message of a queue with its group and deduplication ids."""
    sqs = backend._store.clients.sqs
    answer = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"],
    )
    return answer.get("Messages", [])


def delayed(backend: AwsBackend, url: str) -> int:
    """Return how many messages of a queue wait for their delay."""
    attributes = backend._store.clients.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesDelayed"])


async def test_a_new_execution_rings_the_workflow_queue_once(rung: AwsBackend) -> None:
    """Starting rings the FIFO queue in the execution's group; a repeated message id rings once."""
    record = await start(rung, "a")
    await rung.queue.enqueue([signal(record.id, "s1")])
    await rung.queue.enqueue([signal(record.id, "s1")])
    url = rung.config.workflow_queue_url
    assert url is not None
    received = drain(rung, url)
    assert [json.loads(m["Body"])["id"] for m in received] == [f"{record.id}|start", "s1"]
    assert {m["Attributes"]["MessageGroupId"] for m in received} == {record.id}
    assert received[0]["Attributes"]["MessageDeduplicationId"] == f"{record.id}|start"


async def test_tasks_ring_their_queue_with_the_back_off_as_delay(rung: AwsBackend) -> None:
    """A dispatched attempt rings its task's queue, delayed until its back-off ends."""
    record, batch = await started_and_claimed(rung)
    retry = task(record.id, 2, not_before=datetime.now(UTC) + timedelta(seconds=60))
    await rung.executions.commit(consume(batch, record, 1, tasks=(task(record.id, 1), retry)))
    workflow_url = rung.config.workflow_queue_url
    assert workflow_url is not None
    url = workflow_url.rsplit("/", 1)[0] + f"/{PREFIX}-task-work"
    assert [json.loads(m["Body"]) for m in drain(rung, url)] == [{"token": f"{record.id}|1|1"}]
    assert delayed(rung, url) == 1


async def test_claimed_tasks_ring_nothing(rung: AwsBackend) -> None:
    """Attempts committed already claimed by this process wake no function."""
    record, batch = await started_and_claimed(rung)
    step = consume(
        batch, record, 1, tasks=(task(record.id, 1),), task_claim=Lease(owner="me", duration=LONG)
    )
    before = rung.requests.copy()
    await rung.executions.commit(step)
    assert (rung.requests - before)["sqs.SendMessageBatch"] == 0


async def test_timers_ring_the_timer_queue_or_a_schedule(rung: AwsBackend) -> None:
    """A timer due within 15 minutes is a delayed queue message; a later one a one-time schedule."""
    now = datetime.now(UTC)
    soon = timer("wf/a", "soon", now + timedelta(minutes=2))
    later = timer("wf/a", "later", now + timedelta(hours=3))
    await rung.timers.schedule([soon, later])
    url = rung.config.timer_queue_url
    assert url is not None
    assert delayed(rung, url) == 1
    scheduler = rung._store.clients.scheduler
    schedules = scheduler.list_schedules()["Schedules"]
    assert len(schedules) == 1
    detail = scheduler.get_schedule(Name=schedules[0]["Name"])
    assert detail["ScheduleExpression"].startswith("at(")
    assert detail["ActionAfterCompletion"] == "DELETE"
    assert json.loads(detail["Target"]["Input"])["timer_id"] == "later"
    # Ringing again (a timer scheduled twice) is harmless.
    await rung.timers.schedule([later])
    assert len(scheduler.list_schedules()["Schedules"]) == 1


async def test_failed_batch_entries_are_sent_again(
    rung: AwsBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries SQS reports as failed in a batch are retried, so every doorbell rings."""
    sqs = rung._store.clients.sqs
    real = sqs.send_message_batch
    calls: list[int] = []

    def flaky(**kwargs: Any) -> Any:
        calls.append(len(kwargs["Entries"]))
        if len(calls) > 1:
            return real(**kwargs)
        # The first entry goes through, the others fail as throttled.
        answer = real(**{**kwargs, "Entries": kwargs["Entries"][:1]})
        answer["Failed"] = [
            {"Id": entry["Id"], "SenderFault": False, "Code": "InternalError"}
            for entry in kwargs["Entries"][1:]
        ]
        return answer

    parent, batch = await started_and_claimed(rung, "parent")
    monkeypatch.setattr(sqs, "send_message_batch", flaky)
    records = [make_record(f"e{i}") for i in range(3)]
    starts = tuple((r, started_of(r)) for r in records)
    await rung.executions.commit(consume(batch, parent, 1, starts=starts))
    assert calls == [3, 2]
    url = rung.config.workflow_queue_url
    assert url is not None
    bodies = [json.loads(m["Body"])["id"] for m in drain(rung, url)]
    assert sorted(bodies) == sorted([f"{parent.id}|start", *(f"{r.id}|start" for r in records)])


async def test_steps_keep_their_doorbells_on_the_record(rung: AwsBackend) -> None:
    """The record keeps the doorbells of its last commit, so a lost ring can be rung again."""
    record, batch = await started_and_claimed(rung)
    step = StepCommit(
        execution_id=record.id,
        expected_length=1,
        lease=batch.lease,
        consumed=tuple(m.id for m in batch.messages),
        record=record,
        tasks=(task(record.id, 1),),
    )
    await rung.executions.commit(step)
    item = await rung._store.table.get({"pk": {"S": f"X#{record.id}"}, "sk": {"S": "R"}})
    assert item is not None
    assert json.loads(item["bells"]["S"]) == [["task", "work", f"{record.id}|1|1", ""]]


async def test_a_lost_ring_is_rung_again_from_the_record(rung: AwsBackend) -> None:
    """Doorbells a crash kept from ringing are rung again from the execution's record."""
    record = await start(rung, "a")
    url = rung.config.workflow_queue_url
    assert url is not None
    sqs = rung._store.clients.sqs
    for message in drain(rung, url):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    # FIFO deduplication keeps the same id from ringing twice within 5 minutes,
    # so the lost ring is simulated on a step's task doorbell (a standard queue).
    batch = await claim_one(rung)
    await rung.executions.commit(consume(batch, record, 1, tasks=(task(record.id, 1),)))
    task_url = url.rsplit("/", 1)[0] + f"/{PREFIX}-task-work"
    for message in drain(rung, task_url):
        sqs.delete_message(QueueUrl=task_url, ReceiptHandle=message["ReceiptHandle"])
    assert await rung.executions.ring_again(record.id) == 1
    assert [json.loads(m["Body"]) for m in drain(rung, task_url)] == [{"token": f"{record.id}|1|1"}]
    assert await rung.executions.ring_again("wf/ghost") == 0


async def test_long_execution_ids_ring_in_a_group_of_their_own(rung: AwsBackend) -> None:
    """An execution id past SQS's 128-character group ids rings under a stable hash of it."""
    record = await start(rung, "n" * 200)
    url = rung.config.workflow_queue_url
    assert url is not None
    (received,) = drain(rung, url)
    assert json.loads(received["Body"]) == {"execution_id": record.id, "id": f"{record.id}|start"}
    assert len(received["Attributes"]["MessageGroupId"]) == 64
