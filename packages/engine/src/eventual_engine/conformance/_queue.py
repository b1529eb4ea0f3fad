"""Checks of ``WorkflowQueue``: FIFO batches, exclusive claims, leases and releases."""

from __future__ import annotations

import asyncio

from eventual.spi import Backend, StepCommit

from ._support import (
    LONG,
    Timing,
    claim_one,
    consume,
    done,
    message_ids,
    signal,
    start,
    started_and_claimed,
)

__all__ = ["CHECKS"]


async def claim_is_fifo_per_execution_and_keeps_unconsumed(
    backend: Backend, timing: Timing
) -> None:
    """A batch holds messages in arrival order; unconsumed ones come back next claim."""
    record = await start(backend, "a")
    await backend.queue.enqueue([signal(record.id, "m1"), signal(record.id, "m2")])
    await backend.queue.enqueue([signal(record.id, "m3")])
    batch = await claim_one(backend)
    assert message_ids(batch) == [f"{record.id}|start", "m1", "m2", "m3"]
    step = StepCommit(
        execution_id=record.id,
        expected_length=1,
        lease=batch.lease,
        consumed=(f"{record.id}|start", "m1"),
        record=record,
    )
    await backend.executions.commit(step)
    assert message_ids(await claim_one(backend, "o2")) == ["m2", "m3"]


async def claim_is_exclusive_between_owners(backend: Backend, timing: Timing) -> None:
    """An execution claimed by one owner is not handed to another."""
    first = await start(backend, "a")
    taken = await claim_one(backend, "o1")
    assert taken.execution_id == first.id
    assert await backend.queue.claim("o2", 10, LONG) == []
    second = await start(backend, "b")
    assert [b.execution_id for b in await backend.queue.claim("o2", 10, LONG)] == [second.id]


async def claim_respects_limit_in_arrival_order(backend: Backend, timing: Timing) -> None:
    """At most ``limit`` executions are claimed, oldest arrivals first."""
    ids = [(await start(backend, name)).id for name in ("a", "b", "c")]
    assert [b.execution_id for b in await backend.queue.claim("o1", 2, LONG)] == ids[:2]
    assert [b.execution_id for b in await backend.queue.claim("o1", 2, LONG)] == ids[2:]


async def lapsed_claim_can_be_taken_over(backend: Backend, timing: Timing) -> None:
    """When a claim's lease passes, another owner claims the same messages."""
    record = await start(backend, "a")
    await claim_one(backend, "o1", timing.short)
    assert await backend.queue.claim("o2", 1, LONG) == []
    await asyncio.sleep(timing.lapse)
    batch = await claim_one(backend, "o2")
    assert (batch.execution_id, message_ids(batch)) == (record.id, [f"{record.id}|start"])


async def release_leaves_messages_for_others(backend: Backend, timing: Timing) -> None:
    """Releasing a claim makes the execution claimable again with its messages."""
    await start(backend, "a")
    batch = await claim_one(backend, "o1")
    await backend.queue.release(batch)
    assert message_ids(await claim_one(backend, "o2")) == message_ids(batch)


async def release_of_a_lost_claim_is_ignored(backend: Backend, timing: Timing) -> None:
    """Releasing a claim that another owner has since taken does not free it."""
    await start(backend, "a")
    stale = await claim_one(backend, "o1", timing.short)
    await asyncio.sleep(timing.lapse)
    await claim_one(backend, "o2")
    await backend.queue.release(stale)
    assert await backend.queue.claim("o3", 1, LONG) == []


async def messages_of_ended_or_unknown_executions_are_discarded(
    backend: Backend, timing: Timing
) -> None:
    """Messages for an ended or unknown execution are neither counted nor handed out."""
    record, batch = await started_and_claimed(backend)
    await backend.executions.commit(consume(batch, done(record), 1))
    await backend.queue.enqueue([signal(record.id, "late"), signal("wf/ghost", "lost")])
    assert await backend.queue.pending() == 0
    assert await backend.queue.claim("o1", 10, LONG) == []
    live = await start(backend, "b")
    assert [b.execution_id for b in await backend.queue.claim("o1", 10, LONG)] == [live.id]


async def enqueue_ignores_queued_ids(backend: Backend, timing: Timing) -> None:
    """A message whose id is already queued is not queued twice."""
    record = await start(backend, "a")
    await backend.queue.enqueue([signal(record.id, "m"), signal(record.id, "m")])
    await backend.queue.enqueue([signal(record.id, "m")])
    assert await backend.queue.pending() == 2
    assert message_ids(await claim_one(backend)) == [f"{record.id}|start", "m"]


async def pending_counts_claimed_and_unclaimed(backend: Backend, timing: Timing) -> None:
    """``pending`` counts queued messages whether or not they are claimed."""
    record = await start(backend, "a")
    await start(backend, "b")
    await backend.queue.enqueue([signal(record.id, "m")])
    await claim_one(backend)
    assert await backend.queue.pending() == 3


CHECKS = (
    claim_is_fifo_per_execution_and_keeps_unconsumed,
    claim_is_exclusive_between_owners,
    claim_respects_limit_in_arrival_order,
    lapsed_claim_can_be_taken_over,
    release_leaves_messages_for_others,
    release_of_a_lost_claim_is_ignored,
    messages_of_ended_or_unknown_executions_are_discarded,
    enqueue_ignores_queued_ids,
    pending_counts_claimed_and_unclaimed,
)
