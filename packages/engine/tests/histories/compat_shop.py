"""The workflows that recorded the histories beside this file, as a service module.

The one copy both suites replay those histories against: the engine's
``test_replay_compat.py`` loads it by path, and the CLI's ``test_replay.py`` runs
``eventual replay --service compat_shop`` with this folder on ``sys.path``. Test
modules of two packages cannot import each other, so the module lives with the
data it explains. Change a workflow here only together with a new recording.
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
    sku: str
    quantity: int


@task
async def add_one(x: int) -> int:
    return x + 1


@task
async def label(parcel: Parcel) -> str:
    return f"{parcel.sku}x{parcel.quantity}"


failures_left: dict[str, int] = {}


@task(retry=RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=10), backoff=3.0))
async def flaky(key: str) -> str:
    left = failures_left.get(key, 0)
    if left:
        failures_left[key] = left - 1
        raise ConnectionError(f"{key}: try again")
    return f"{key} ok on attempt {task_info().attempt}"


@task
async def release(key: str) -> str:
    return f"released {key}"


approval = signal("approval", bool)
note = signal("note", str)
shipped = event("shipped", Parcel)


@workflow
async def sequential_tasks(n: int) -> int:
    total = 0
    for _ in range(n):
        total = await add_one(total)
    return total


@workflow
async def gathered_tasks(parcels: list[Parcel]) -> list[str]:
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
    return sum(await asyncio.gather(*(add_one(i) for i in range(n))))


@workflow
async def parent_of_child(n: int) -> str:
    total = await child_sum(n)
    await approval.send(f"signals_and_timeouts/{n}", True)  # to nobody: discarded
    return f"child gave {total}"


@workflow
async def retried(keys: list[str]) -> list[str]:
    results: list[str] = []
    for key in keys:
        try:
            results.append(await flaky(key))
        except TaskError as error:
            results.append(f"{key} gave up: {error.error_type}")
    return results


@workflow
async def cancelled_with_cleanup(key: str) -> str:
    try:
        await approval.expect()
    except asyncio.CancelledError:
        await release(key)
        raise
    return "not cancelled"


@workflow
async def publishing(parcel: Parcel) -> int:
    await shipped.publish(parcel, Parcel(parcel.sku, parcel.quantity + 1))
    await sleep(5)
    await shipped.publish(Parcel("last", 0))
    return parcel.quantity
