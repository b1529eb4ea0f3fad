"""Code that must NOT type-check; each error line carries its expected mypy code."""

from __future__ import annotations

import attrs
from eventual import ServiceClient, SyncServiceClient, command, event, signal, task, workflow


@attrs.frozen
class Order:
    id: str


@task
async def reserve(item: str, quantity: int) -> bool:
    return quantity > 0


@workflow
async def fulfil(order: Order) -> str:
    return order.id


@command
async def place(order: Order) -> str:
    return order.id


@task(memory="1 GB")  # E: call-overload
async def oversized(item: str) -> bool:
    return bool(item)


approval = signal("approval", bool)
placed = event("placed", Order)


async def misuse() -> None:
    await reserve("x", "many")  # E: arg-type
    await fulfil.start("not an order")  # E: arg-type
    count: int = await fulfil(Order("o"))  # E: assignment
    handle = await fulfil.start(Order("o"))
    await handle.signal(approval, "yes")  # E: misc
    await placed.publish(1)  # E: arg-type
    flag: str = await reserve("x", 1)  # E: assignment
    del count, flag


async def remote(client: ServiceClient) -> None:
    await client.call(place, "not an order")  # E: misc
    count: int = await client.call(place, Order("o"))  # E: arg-type
    await client.send_signal("fulfil/o", approval, "yes")  # E: misc
    del count


def blocking_remote(client: SyncServiceClient) -> None:
    client.call(place, "not an order")  # E: misc
    count: int = client.call(place, Order("o"))  # E: assignment
    flag: bool = client.start(fulfil, Order("o")).result()  # E: assignment
    client.send_signal("fulfil/o", approval, "yes")  # E: misc
    del count, flag
