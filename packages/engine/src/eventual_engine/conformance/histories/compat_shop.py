"""The workflows that recorded the histories beside this file, as a service module.

The one copy every replay of those histories runs against: the engine's replay
compatibility tests import it, and ``eventual replay --service
eventual_engine.conformance.histories.compat_shop`` loads it by name. Change a
workflow here only together with a new recording.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs

from eventual import (
    RetryPolicy,
    TaskError,
    Timeout,
    condition,
    event,
    signal,
    sleep,
    task,
    task_info,
    workflow,
)


@attrs.frozen
class Parcel:
    """A parcel: the structured input."""

    sku: str
    quantity: int


@task
async def add_one(x: int) -> int:
    """Return ``x + 1``."""
    return x + 1


@task
async def label(parcel: Parcel) -> str:
    """Return the parcel's label."""
    return f"{parcel.sku}x{parcel.quantity}"


failures_left: dict[str, int] = {}


@task(retry=RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=10), backoff=3.0))
async def flaky(key: str) -> str:
    """Fail while ``failures_left[key]`` counts down; three attempts, back-off 10 s times 3."""
    left = failures_left.get(key, 0)
    if left:
        failures_left[key] = left - 1
        raise ConnectionError(f"{key}: try again")
    return f"{key} ok on attempt {task_info().attempt}"


@task
async def release(key: str) -> str:
    """Release ``key`` (the cleanup of a cancelled execution)."""
    return f"released {key}"


approval = signal("approval", bool)
note = signal("note", str)
shipped = event("shipped", Parcel)


@workflow
async def sequential_tasks(n: int) -> int:
    """Add one ``n`` times, one task after another."""
    total = 0
    for _ in range(n):
        total = await add_one(total)
    return total


@workflow
async def gathered_tasks(parcels: list[Parcel]) -> list[str]:
    """Label every parcel together with ``asyncio.gather``."""
    return list(await asyncio.gather(*(label(p) for p in parcels)))


@workflow
async def timers_let_go(_: None) -> list[str]:
    """Timers that stop mattering: an answered expect's timeout, a cancelled sleep."""
    seen = [f"approved={await approval.expect(timeout=timedelta(hours=1))}"]
    nap = asyncio.ensure_future(sleep(timedelta(days=1)))
    await sleep(timedelta(minutes=1))
    nap.cancel()
    seen.append(f"note={await note.expect(timeout=timedelta(hours=2))}")
    return seen


@workflow
async def signals_and_timeouts(_: None) -> list[str]:
    """Expect approvals with timeouts, collect notes with ``on`` and ``condition``."""
    notes: list[str] = []
    note.on(notes.append)
    seen: list[str] = []
    try:
        seen.append(f"approved={await approval.expect(timeout=timedelta(hours=1))}")
    except Timeout:
        seen.append("first timed out")
    try:
        seen.append(f"approved={await approval.expect(timeout=timedelta(minutes=30))}")
    except Timeout:
        seen.append("second timed out")
    seen.append(f"notes={await condition(lambda: len(notes) >= 2, timeout=timedelta(minutes=5))}")
    await sleep(timedelta(minutes=1))
    return [*seen, *notes]


@workflow
async def child_sum(n: int) -> int:
    """Add one to 0 to ``n - 1`` together; return the sum."""
    return sum(await asyncio.gather(*(add_one(i) for i in range(n))))


@workflow
async def parent_of_child(n: int) -> str:
    """Run ``child_sum`` as a child, then signal an execution that does not exist."""
    total = await child_sum(n)
    await approval.send(f"signals_and_timeouts/{n}", True)  # to nobody: discarded
    return f"child gave {total}"


@workflow
async def retried(keys: list[str]) -> list[str]:
    """Call ``flaky`` for each key, describing the calls that gave up."""
    results: list[str] = []
    for key in keys:
        try:
            results.append(await flaky(key))
        except TaskError as error:
            results.append(f"{key} gave up: {error.error_type}")
    return results


@workflow
async def cancelled_with_cleanup(key: str) -> str:
    """Wait for approval; when cancelled, release ``key`` first."""
    try:
        await approval.expect()
    except asyncio.CancelledError:
        await release(key)
        raise
    return "not cancelled"


@workflow
async def publishing(parcel: Parcel) -> int:
    """Publish parcels, sleep, publish again."""
    await shipped.publish(parcel, Parcel(parcel.sku, parcel.quantity + 1))
    await sleep(5)
    await shipped.publish(Parcel("last", 0))
    return parcel.quantity
