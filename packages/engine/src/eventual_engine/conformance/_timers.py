"""Checks of ``TimerService``: due order, leases, replacement and cancellation."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from eventual.spi import Backend

from .support import (
    LONG,
    T0,
    Timing,
    claim_one,
    consume,
    start,
    timer,
)

__all__ = ["CHECKS"]


async def timers_claimed_when_due_earliest_first(backend: Backend, timing: Timing) -> None:
    """Due timers come earliest first (ties by id); timers not yet due stay."""
    late = timer("wf/a", "late", T0 + timedelta(minutes=2))
    tie_b = timer("wf/a", "b", T0 + timedelta(minutes=1))
    tie_a = timer("wf/a", "a", T0 + timedelta(minutes=1))
    first = timer("wf/a", "z", T0)
    await backend.timers.schedule([late, tie_b, tie_a, first])
    now = T0 + timedelta(minutes=1)
    assert await backend.timers.claim_due("o1", now, 2, LONG) == [first, tie_a]
    assert await backend.timers.claim_due("o1", now, 10, LONG) == [tie_b]
    assert await backend.timers.claim_due("o1", now, 10, LONG) == []


async def claimed_timer_returns_after_its_lease(backend: Backend, timing: Timing) -> None:
    """A claimed timer is hidden from others until its lease lapses without completion."""
    due = timer("wf/a", "t", T0)
    await backend.timers.schedule([due])
    assert await backend.timers.claim_due("o1", T0, 10, timing.short) == [due]
    assert await backend.timers.claim_due("o2", T0, 10, LONG) == []
    await asyncio.sleep(timing.lapse)
    assert await backend.timers.claim_due("o2", T0, 10, LONG) == [due]


async def completed_timer_is_gone(backend: Backend, timing: Timing) -> None:
    """A completed timer is neither claimed again nor reported by ``next_due``."""
    due = timer("wf/a", "t", T0)
    await backend.timers.schedule([due])
    await backend.timers.claim_due("o1", T0, 10, timing.short)
    await backend.timers.complete(["t", "unknown"])
    await asyncio.sleep(timing.lapse)
    assert await backend.timers.claim_due("o1", T0, 10, LONG) == []
    assert await backend.timers.next_due() is None


async def scheduling_a_known_timer_id_replaces_it(backend: Backend, timing: Timing) -> None:
    """Rescheduling a timer id replaces its due time and drops its claim."""
    await backend.timers.schedule([timer("wf/a", "t", T0)])
    await backend.timers.claim_due("o1", T0, 10, LONG)
    moved = timer("wf/a", "t", T0 + timedelta(minutes=5))
    await backend.timers.schedule([moved])
    assert await backend.timers.next_due() == moved.due
    assert await backend.timers.claim_due("o2", T0, 10, LONG) == []
    assert await backend.timers.claim_due("o2", moved.due, 10, LONG) == [moved]


async def commit_cancels_and_schedules_timers(backend: Backend, timing: Timing) -> None:
    """A commit's ``cancel_timers`` delete timers and its ``timers`` schedule new ones."""
    record = await start(backend, "a", timers=[timer("wf/a", "timeout", T0)])
    batch = await claim_one(backend)
    later = timer(record.id, "sleep", T0 + timedelta(hours=1))
    await backend.executions.commit(
        consume(batch, record, 1, cancel_timers=("timeout",), timers=(later,))
    )
    assert await backend.timers.claim_due("o1", T0, 10, LONG) == []
    assert await backend.timers.next_due() == later.due


async def next_due_is_earliest_unclaimed(backend: Backend, timing: Timing) -> None:
    """``next_due`` skips claimed timers and is None without timers."""
    assert await backend.timers.next_due() is None
    soon = timer("wf/a", "soon", T0 + timedelta(seconds=1))
    later = timer("wf/a", "later", T0 + timedelta(seconds=2))
    await backend.timers.schedule([later, soon])
    assert await backend.timers.next_due() == soon.due
    await backend.timers.claim_due("o1", soon.due, 1, LONG)
    assert await backend.timers.next_due() == later.due


CHECKS = (
    timers_claimed_when_due_earliest_first,
    claimed_timer_returns_after_its_lease,
    completed_timer_is_gone,
    scheduling_a_known_timer_id_replaces_it,
    commit_cancels_and_schedules_timers,
    next_due_is_earliest_unclaimed,
)
