"""Steps on DynamoDB: history item by item, the 100-item transaction cap, crashes mid-split."""

from __future__ import annotations

from typing import Any

import pytest

from eventual.history import ExecutionRecord, TaskScheduled
from eventual.spi import Conflict, InboundBatch, StepCommit
from eventual_aws import plan
from eventual_aws._backend import AwsBackend
from eventual_engine.conformance.support import (
    LONG,
    T0,
    claim_one,
    consume,
    signal,
    started_and_claimed,
    started_of,
    task,
)

WIDE = 75  # tasks in one step: 75 events and 75 attempts, 150 items besides the record


def wide(batch: InboundBatch, record: ExecutionRecord, length: int, first: int = 1) -> StepCommit:
    """A step scheduling ``WIDE`` tasks at once (an ``asyncio.gather`` of many calls)."""
    seqs = range(first, first + WIDE)
    return consume(
        batch,
        record,
        length,
        events=tuple(TaskScheduled(timestamp=T0, seq=q, task="work", args=[q]) for q in seqs),
        tasks=tuple(task(record.id, q) for q in seqs),
    )


async def test_a_step_of_150_items_commits_whole(backend: AwsBackend) -> None:
    """A step past the 100-item transaction cap is written whole, its events appended once."""
    record, batch = await started_and_claimed(backend)
    before = backend.requests.copy()
    await backend.executions.commit(wide(batch, record, 1))
    spent = backend.requests - before
    history = await backend.executions.history(record.id)
    assert history[0] == started_of(record)
    assert [e.seq for e in history[1:] if isinstance(e, TaskScheduled)] == list(range(1, WIDE + 1))
    assert await backend.tasks.pending() == WIDE
    # Two transactions (the conditional one first), the remainder kept in S3 meanwhile.
    assert spent["dynamodb.TransactWriteItems"] == 2
    assert spent["s3.PutObject"] == 1
    item = await backend._store.table.get({"pk": {"S": f"X#{record.id}"}, "sk": {"S": "R"}})
    assert item is not None
    assert "rest" not in item


async def test_a_step_lost_to_a_conflict_writes_nothing_even_when_split(
    backend: AwsBackend,
) -> None:
    """A split step whose condition fails leaves neither history nor tasks behind."""
    record, batch = await started_and_claimed(backend)
    with pytest.raises(Conflict):
        await backend.executions.commit(wide(batch, record, 0))
    assert await backend.executions.history(record.id) == [started_of(record)]
    assert await backend.tasks.pending() == 0


async def test_the_remainder_of_a_split_step_is_kept_where_the_bucket_expires_objects(
    backend: AwsBackend,
) -> None:
    """A split step's remainder, applied or orphaned by a conflict, is under the expiring prefix."""
    (rule,) = plan("orders.service").bucket.expirations
    clients = backend._store.clients

    async def keys() -> set[str]:
        listed = await clients.call(clients.s3.list_objects_v2, Bucket=backend.config.bucket)
        return {o["Key"] for o in listed.get("Contents", [])}

    before = await keys()
    record, batch = await started_and_claimed(backend)
    with pytest.raises(Conflict):
        await backend.executions.commit(wide(batch, record, 0))  # its remainder is orphaned
    await backend.executions.commit(wide(batch, record, 1))
    added = await keys() - before
    assert len(added) == 2
    assert all(key.startswith(rule.prefix) for key in added)


async def test_a_split_step_cut_short_is_finished_by_the_next_reader(
    backend: AwsBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between a split step's transactions loses nothing: the next claim completes it."""
    record, batch = await started_and_claimed(backend)
    committer = backend.executions._committer

    async def crash(*args: Any) -> None:
        raise RuntimeError("the process died here")

    with monkeypatch.context() as patch:
        patch.setattr(committer, "_apply_rest", crash)
        with pytest.raises(RuntimeError, match="died"):
            await backend.executions.commit(wide(batch, record, 1))
    # Until the remainder is written, no other step commits on top of it.
    await backend.queue.enqueue([signal(record.id, "next")])
    again = await claim_one(backend, "o2", LONG)
    assert [m.id for m in again.messages] == ["next"]
    assert await backend.tasks.pending() == WIDE
    assert len(await backend.executions.history(record.id)) == 1 + WIDE
    await backend.executions.commit(consume(again, record, 1 + WIDE))


async def test_history_read_finishes_a_split_step(
    backend: AwsBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the history of an execution whose split step was cut short shows all of it."""
    record, batch = await started_and_claimed(backend)
    committer = backend.executions._committer

    async def crash(*args: Any) -> None:
        raise RuntimeError("the process died here")

    with monkeypatch.context() as patch:
        patch.setattr(committer, "_apply_rest", crash)
        with pytest.raises(RuntimeError):
            await backend.executions.commit(wide(batch, record, 1))
    assert len(await backend.executions.history(record.id)) == 1 + WIDE
    assert await backend.tasks.pending() == WIDE


async def test_each_step_writes_only_its_own_events(backend: AwsBackend) -> None:
    """Commits put one item per new event, never the history again: bytes stay flat per step."""
    record, batch = await started_and_claimed(backend)
    await backend.executions.commit(consume(batch, record, 1))
    sizes = []
    for position in range(1, 6):
        await backend.queue.enqueue([signal(record.id, f"s{position}")])
        batch = await claim_one(backend)
        event = TaskScheduled(timestamp=T0, seq=position, task="work", args=[position])
        before = backend.bytes_written.copy()
        await backend.executions.commit(consume(batch, record, position, events=(event,)))
        sizes.append((backend.bytes_written - before)["dynamodb.TransactWriteItems"])
    assert max(sizes) - min(sizes) < 100
    assert len(await backend.executions.history(record.id)) == 6
