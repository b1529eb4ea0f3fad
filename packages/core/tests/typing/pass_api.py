"""Code that must type-check: the types of the user API carry through."""

from __future__ import annotations

from datetime import timedelta

import attrs

from eventual import (
    Command,
    Event,
    ExecutionHandle,
    Schedule,
    ServiceClient,
    Signal,
    SyncExecutionHandle,
    SyncServiceClient,
    Task,
    Workflow,
    command,
    event,
    signal,
    subscription,
    task,
    workflow,
)


@attrs.frozen
class Order:
    id: str
    quantity: int


@task(timeout=timedelta(seconds=5))
async def reserve(item: str, quantity: int) -> bool:
    return quantity > 0


@task
def blocking(x: int) -> str:
    return str(x)


@task(timeout=60, memory=1024, concurrency=5)
async def sized(x: int) -> int:
    return x


@workflow
async def fulfil(order: Order) -> str:
    ok: bool = await reserve(order.id, order.quantity)
    text: str = await blocking(1)
    return text if ok else "no"


@workflow(schedule=Schedule.cron("0 9 * * MON-FRI", tz="Europe/Paris", overlap="buffer_one"))
async def morning_report() -> None:
    pass


report_workflow: Workflow[None, None] = morning_report


@command
async def place(order: Order) -> str:
    handle: ExecutionHandle[str] = await fulfil.start(order)
    return handle.id


approval: Signal[bool] = signal("approval", bool)
placed: Event[Order] = event("placed", Order)


@command(timeout=timedelta(seconds=10), memory=1024)
async def place_big(order: Order) -> str:
    return order.id


@subscription(placed, timeout=120, memory=256, concurrency=2)
async def audit(order: Order) -> None:
    del order


def sized_kinds() -> tuple[Task[[int], int], Command[Order, str]]:
    return sized, place_big


async def use() -> None:
    handle = await fulfil.start(Order("o1", 1), name="o1")
    result: str = await handle.result()
    await handle.signal(approval, True)
    await placed.publish(Order("o2", 2))
    child_result: str = await fulfil(Order("o3", 3))
    del result, child_result


def kinds() -> tuple[Task[[str, int], bool], Workflow[Order, str], Command[Order, str]]:
    return reserve, fulfil, place


@command
async def version() -> str:
    return "1"


async def remote(client: ServiceClient) -> None:
    execution_id: str = await client.call(place, Order("o1", 1))
    text: str = await client.call(version, None)
    handle: ExecutionHandle[str] = await client.start(fulfil, Order("o2", 1), name="o2")
    result: str = await handle.result()
    await client.send_signal(execution_id, approval, True)
    await client.publish(placed, Order("o3", 1), Order("o4", 2))
    del text, result


def blocking_remote(client: SyncServiceClient) -> None:
    execution_id: str = client.call(place, Order("o1", 1))
    handle: SyncExecutionHandle[str] = client.start(fulfil, Order("o2", 1), name="o2")
    handle.signal(approval, True)
    result: str = handle.result(timeout=5.0)
    client.send_signal(execution_id, approval, False)
    client.publish(placed, Order("o3", 1))
    del result
