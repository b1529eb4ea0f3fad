"""compat_shop after two incompatible changes, for replays that must fail."""

from __future__ import annotations

import attrs

from eventual import event, sleep, task, workflow


@attrs.frozen
class Parcel:
    sku: str
    quantity: int


shipped = event("shipped", Parcel)


@task
async def add_one(x: int) -> int:
    return x + 1


@task
async def add_two(x: int) -> int:
    return x + 2


@workflow
async def sequential_tasks(n: int) -> int:
    """Now calls another task from the second call on."""
    total = await add_one(0)
    for _ in range(n - 1):
        total = await add_two(total)
    return total


@workflow
async def publishing(parcel: Parcel) -> int:
    """Makes the same calls, but returns something else."""
    await shipped.publish(parcel, Parcel(parcel.sku, parcel.quantity + 1))
    await sleep(5)
    await shipped.publish(Parcel("last", 0))
    return parcel.quantity * 10
