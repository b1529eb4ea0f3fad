"""Checks of ``TaskDispatch`` and the published-events outbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from eventual.history import PublishedEvent
from eventual.spi import Backend, Lease

from .support import (
    LONG,
    T0,
    Timing,
    claim_one,
    consume,
    dispatch,
    done,
    message_ids,
    signal,
    start,
    started_and_claimed,
    task,
)

__all__ = ["CHECKS"]


async def tasks_claimed_in_dispatch_order(backend: Backend, timing: Timing) -> None:
    """Attempts come in the order they were dispatched, ``limit`` at a time."""
    first, second, third = task("wf/x", 3), task("wf/x", 1), task("wf/x", 2)
    await dispatch(backend, first, second)
    await dispatch(backend, third)
    assert await backend.tasks.claim("w", T0, 2, LONG) == [first, second]
    assert await backend.tasks.claim("w", T0, 2, LONG) == [third]
    assert await backend.tasks.claim("w", T0, 2, LONG) == []


async def task_not_before_is_respected(backend: Backend, timing: Timing) -> None:
    """An attempt with ``not_before`` is not claimed earlier and sets ``next_ready``."""
    delayed = task("wf/x", 1, not_before=T0 + timedelta(seconds=10))
    await dispatch(backend, delayed)
    assert await backend.tasks.claim("w", T0, 10, LONG) == []
    assert await backend.tasks.next_ready() == delayed.not_before
    assert await backend.tasks.claim("w", T0 + timedelta(seconds=10), 10, LONG) == [delayed]
    assert await backend.tasks.next_ready() is None


async def next_ready_of_immediate_task_is_not_after_now(backend: Backend, timing: Timing) -> None:
    """An attempt without ``not_before`` is ready at once."""
    assert await backend.tasks.next_ready() is None
    await dispatch(backend, task("wf/x", 1))
    ready = await backend.tasks.next_ready()
    assert ready is not None
    assert ready <= T0


async def lapsed_task_claim_is_claimed_again(backend: Backend, timing: Timing) -> None:
    """An attempt whose worker let its lease lapse goes to another worker."""
    attempt = task("wf/x", 1)
    await dispatch(backend, attempt)
    assert await backend.tasks.claim("w1", T0, 10, timing.short) == [attempt]
    assert await backend.tasks.claim("w2", T0, 10, LONG) == []
    await asyncio.sleep(timing.lapse)
    assert await backend.tasks.claim("w2", T0, 10, LONG) == [attempt]


async def renew_extends_only_own_claims(backend: Backend, timing: Timing) -> None:
    """``renew`` keeps the owner's attempt claimed; renewing another's claim does nothing."""
    mine, theirs = task("wf/x", 1), task("wf/x", 2)
    await dispatch(backend, mine, theirs)
    assert await backend.tasks.claim("w1", T0, 1, timing.short) == [mine]
    assert await backend.tasks.claim("w2", T0, 1, timing.short) == [theirs]
    await backend.tasks.renew("w1", [mine.token, theirs.token], LONG)
    await asyncio.sleep(timing.lapse)
    assert await backend.tasks.claim("w3", T0, 10, LONG) == [theirs]


async def heartbeat_and_finish(backend: Backend, timing: Timing) -> None:
    """Heartbeats are recorded for live attempts; a finished attempt is forgotten."""
    attempt = task("wf/x", 1)
    await dispatch(backend, attempt)
    await backend.tasks.claim("w", T0, 10, LONG)
    assert await backend.tasks.last_heartbeat(attempt.token) is None
    beat = T0 + timedelta(seconds=3)
    assert await backend.tasks.heartbeat(attempt.token, beat, {"progress": 1}) is True
    assert await backend.tasks.last_heartbeat(attempt.token) == beat
    assert await backend.tasks.pending() == 1
    await backend.tasks.finish(attempt.token)
    assert await backend.tasks.pending() == 0
    assert await backend.tasks.last_heartbeat(attempt.token) is None
    assert await backend.tasks.heartbeat(attempt.token, beat, None) is False
    await backend.tasks.finish(attempt.token)  # finishing twice is harmless


async def task_pending_and_next_ready_skip_claimed(backend: Backend, timing: Timing) -> None:
    """``pending`` counts waiting and running attempts; ``next_ready`` only unclaimed ones."""
    running = task("wf/x", 1)
    waiting = task("wf/x", 2, not_before=T0 + timedelta(minutes=1))
    await dispatch(backend, running, waiting)
    await backend.tasks.claim("w", T0, 10, LONG)
    assert await backend.tasks.pending() == 2
    assert await backend.tasks.next_ready() == waiting.not_before


async def published_events_drain_in_order_and_ack(backend: Backend, timing: Timing) -> None:
    """Published events come oldest first with distinct ids until acknowledged."""
    events = [PublishedEvent(name=f"e{i}", payload={"i": i}) for i in range(3)]
    record, batch = await started_and_claimed(backend)
    await backend.executions.commit(consume(batch, record, 1, published=tuple(events[:2])))
    other, batch = await started_and_claimed(backend, "b")
    await backend.executions.commit(consume(batch, other, 1, published=(events[2],)))

    outbox = await backend.published(10)
    assert [event for _, event in outbox] == events
    assert len({id_ for id_, _ in outbox}) == 3
    assert await backend.published(2) == outbox[:2]
    await backend.ack_published([outbox[0][0], outbox[2][0], "wf/a|999", "junk"])
    assert await backend.published(10) == [outbox[1]]
    await backend.ack_published([outbox[1][0]])
    assert await backend.published(10) == []


async def finish_queues_the_outcome_atomically(backend: Backend, timing: Timing) -> None:
    """Finishing with an outcome queues it and forgets the attempt in one write."""
    record = await start(backend, "wf/x")
    attempt = task(record.id, 1)
    await dispatch(backend, attempt)
    await backend.tasks.claim("w", T0, 10, LONG)
    outcome = signal(record.id, f"{attempt.token}|done")
    await backend.tasks.finish(attempt.token, outcome)
    assert await backend.tasks.pending() == 0
    assert await backend.tasks.claim("w2", T0, 10, LONG) == []
    batch = await claim_one(backend)
    assert outcome.id in message_ids(batch)


async def tasks_committed_with_a_claim_are_held_by_its_owner(
    backend: Backend, timing: Timing
) -> None:
    """Tasks committed under ``task_claim`` are not claimable by anyone until the lease lapses."""
    attempt = task("wf/x", 1)
    await dispatch(backend, attempt, claim=Lease(owner="w1", duration=timing.short))
    assert await backend.tasks.claim("w2", T0, 10, LONG) == []
    assert await backend.tasks.pending() == 1
    assert await backend.tasks.next_ready() is None
    await asyncio.sleep(timing.lapse)
    assert await backend.tasks.claim("w2", T0, 10, LONG) == [attempt]


async def tasks_committed_with_a_claim_can_be_renewed(backend: Backend, timing: Timing) -> None:
    """The owner of an eagerly claimed task keeps it by renewing, like any claim."""
    attempt = task("wf/x", 1)
    await dispatch(backend, attempt, claim=Lease(owner="w1", duration=timing.short))
    await backend.tasks.renew("w1", [attempt.token], LONG)
    await asyncio.sleep(timing.lapse)
    assert await backend.tasks.claim("w2", T0, 10, LONG) == []


async def finish_with_claim_returns_the_execution_batch(backend: Backend, timing: Timing) -> None:
    """Finishing with ``claim`` may hand back the execution's queued messages, claimed."""
    record = await start(backend, "wf/x")
    first = await claim_one(backend)
    await backend.executions.commit(consume(first, record, 1))
    attempt = task(record.id, 1)
    await dispatch(backend, attempt)
    await backend.tasks.claim("w", T0, 10, LONG)
    outcome = signal(record.id, f"{attempt.token}|done")
    batch = await backend.tasks.finish(
        attempt.token, outcome, claim=Lease(owner="w", duration=LONG)
    )
    # Returning None is allowed by the protocol; the built-in backends claim.
    assert batch is not None
    assert message_ids(batch) == [outcome.id]
    assert await backend.queue.claim("other", 10, LONG) == []
    await backend.executions.commit(consume(batch, record, 1))
    assert await backend.queue.pending() == 0


async def finish_with_claim_leaves_a_held_execution_alone(backend: Backend, timing: Timing) -> None:
    """When another owner holds the execution, the outcome is only queued."""
    record = await start(backend, "wf/x")
    held = await claim_one(backend, owner="orchestrator")
    attempt = task(record.id, 1)
    await dispatch(backend, attempt)
    await backend.tasks.claim("w", T0, 10, LONG)
    outcome = signal(record.id, f"{attempt.token}|done")
    claim = Lease(owner="w", duration=LONG)
    assert await backend.tasks.finish(attempt.token, outcome, claim=claim) is None
    await backend.queue.release(held)
    batch = await claim_one(backend)
    assert outcome.id in message_ids(batch)


async def finish_with_claim_of_an_ended_execution_returns_nothing(
    backend: Backend, timing: Timing
) -> None:
    """An outcome for an execution that has ended is not handed out."""
    record = await start(backend, "wf/x")
    first = await claim_one(backend)
    await backend.executions.commit(consume(first, done(record), 1))
    outcome = signal(record.id, "late|done")
    claim = Lease(owner="w", duration=LONG)
    assert await backend.tasks.finish("late", outcome, claim=claim) is None
    assert await backend.queue.claim("w", 10, LONG) == []


CHECKS = (
    tasks_claimed_in_dispatch_order,
    task_not_before_is_respected,
    next_ready_of_immediate_task_is_not_after_now,
    lapsed_task_claim_is_claimed_again,
    renew_extends_only_own_claims,
    heartbeat_and_finish,
    task_pending_and_next_ready_skip_claimed,
    published_events_drain_in_order_and_ack,
    finish_queues_the_outcome_atomically,
    tasks_committed_with_a_claim_are_held_by_its_owner,
    tasks_committed_with_a_claim_can_be_renewed,
    finish_with_claim_returns_the_execution_batch,
    finish_with_claim_leaves_a_held_execution_alone,
    finish_with_claim_of_an_ended_execution_returns_nothing,
)
