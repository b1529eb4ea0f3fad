"""Payloads over the item limit go to S3 by reference and come back transparently."""

from __future__ import annotations

from eventual import ExecutionStatus
from eventual.history import ExecutionRecord, TaskSucceeded
from eventual.spi import ExecutionFilter, InboundMessage, Lease
from eventual_aws._backend import AwsBackend
from eventual_engine.conformance.support import (
    LONG,
    T0,
    claim_one,
    consume,
    dispatch,
    start,
    started_of,
    task,
)

MEGABYTE = "x" * 1_000_000


async def test_a_1_mb_task_result_goes_through_s3(backend: AwsBackend) -> None:
    """A task result of 1 MB (past DynamoDB's 400 KB items) is queued, claimed and recorded."""
    record = await start(backend, "big")
    first = await claim_one(backend)
    await backend.executions.commit(consume(first, record, 1))
    attempt = task(record.id, 1)
    await dispatch(backend, attempt)
    await backend.tasks.claim("w", T0, 10, LONG)
    outcome = InboundMessage(
        id=f"{attempt.token}|done",
        execution_id=record.id,
        event=TaskSucceeded(timestamp=T0, seq=1, attempt=1, result=MEGABYTE),
    )
    batch = await backend.tasks.finish(
        attempt.token, outcome, claim=Lease(owner="w", duration=LONG)
    )
    assert batch is not None
    assert batch.messages == (outcome,)
    await backend.executions.commit(consume(batch, record, 1, events=(outcome.event,)))
    history = await backend.executions.history(record.id)
    assert history[-1] == outcome.event
    assert backend.requests["s3.PutObject"] >= 1
    assert backend.requests["s3.GetObject"] >= 2


async def test_a_1_mb_input_round_trips_through_record_history_and_listing(
    backend: AwsBackend,
) -> None:
    """An execution whose input exceeds an item reads back unchanged everywhere."""
    record = ExecutionRecord(
        id="wf/big",
        workflow="wf",
        name="big",
        status=ExecutionStatus.RUNNING,
        input={"blob": MEGABYTE},
        input_digest="digest",
        started_at=T0,
    )
    assert await backend.executions.create(record, started_of(record), []) == record
    assert await backend.executions.get(record.id) == record
    assert await backend.executions.history(record.id) == [started_of(record)]
    assert (await backend.executions.list(ExecutionFilter())).executions == (record,)
    batch = await claim_one(backend)
    assert batch.messages[0].event == started_of(record)
