"""Checks of ``WorkflowQueue``: FIFO batches, exclusive claims, leases and releases."""

from __future__ import annotations

import asyncio

from eventual.spi import Backend, InboundMessage, StepCommit

from .support import (
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


async def a_message_queued_while_a_claim_empties_the_line_is_claimed(
    backend: Backend, timing: Timing
) -> None:
    """A message queued while a claim finds its execution idle is claimed next, never stranded.

    An idle execution may still hold a place in line that a claim finds empty and
    gives up; a message arriving at that moment must keep (or make) a place of its
    own. The enqueue starts after a growing number of event-loop turns, so for a
    backend in this process it lands at each await point of the claim in turn; a
    backend across a network races for real, round after round.
    """
    for round_ in range(_RACE_ROUNDS):
        record = await start(backend, f"race-{round_}")
        await backend.executions.commit(consume(await claim_one(backend), record, 1))

        arrival = _arrive(backend, signal(record.id, f"s{round_}"), turns=round_ % 8)
        claimed, _ = await asyncio.gather(backend.queue.claim("w1", 10, LONG), arrival)
        for taken in claimed:  # a claim that saw the message arrive may hold it: give it back
            await backend.queue.release(taken)
        again = await backend.queue.claim("w2", 10, LONG)
        found = [(batch.execution_id, message_ids(batch)) for batch in again]
        assert found == [(record.id, [f"s{round_}"])], f"round {round_}: claimed {found}"
        await backend.executions.commit(consume(again[0], record, 1))


_RACE_ROUNDS = 24
"""Three rounds per enqueue delay of 0 to 7 event-loop turns."""


async def _arrive(backend: Backend, message: InboundMessage, *, turns: int) -> None:
    """Enqueue ``message`` after ``turns`` turns of the event loop."""
    for _ in range(turns):
        await asyncio.sleep(0)
    await backend.queue.enqueue([message])


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
    a_message_queued_while_a_claim_empties_the_line_is_claimed,
)
