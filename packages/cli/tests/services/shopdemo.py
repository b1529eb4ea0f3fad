"""A small shop the CLI tests run under `eventual local`: tasks, a retry, a timer, a child."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import attrs

from eventual import (
    RetryPolicy,
    command,
    complete_async,
    continue_as_new,
    event,
    logger,
    signal,
    sleep,
    subscription,
    task,
    task_info,
    workflow,
)


@attrs.frozen
class Order:
    id: str
    items: list[str]


@attrs.frozen
class Shipment:
    order_id: str


PRICES = {"book": 12, "pen": 2, "lamp": 30}
_failed_once: set[str] = set()

approval = signal("approval", bool)
shipped = event("shipped", Shipment)


@task
async def price(item: str) -> int:
    """Look an item's price up."""
    logger.info("pricing %s", item)
    return PRICES[item]


@task(retry=RetryPolicy(max_attempts=3, initial_interval=timedelta(milliseconds=200)))
async def reserve(order_id: str, item: str) -> bool:
    """Reserve an item; the first attempt for each order fails."""
    if order_id not in _failed_once:
        _failed_once.add(order_id)
        raise ConnectionError(f"warehouse busy, {item} not reserved")
    return True


@task
async def ask_warehouse(token_file: str) -> str:
    """Leave the task's token in a file and finish later (complete-task / fail-task)."""
    # A plain write of a few bytes; an async file API would add nothing here.
    Path(token_file).write_text(task_info().token, encoding="utf-8")  # noqa: ASYNC240
    complete_async()


@workflow
async def wrap(item: str) -> str:
    """A child workflow."""
    return f"wrapped {item}"


@workflow
async def checkout(order: Order) -> str:
    """Price the items, reserve the first (retried once), wait, wrap it, announce it."""
    total = sum(await asyncio.gather(*(price(item) for item in order.items)))
    await reserve(order.id, order.items[0])
    await sleep(0.3)
    wrapped = await wrap(order.items[0])
    await shipped.publish(Shipment(order.id))
    return f"{order.id}: {total} ({wrapped})"


@workflow
async def approve(order_id: str) -> str:
    """Wait for the approval signal."""
    logger.info("waiting for approval of %s", order_id)
    approved = await approval.expect(timeout=timedelta(minutes=5))
    logger.warning("%s %s", order_id, "approved" if approved else "rejected")
    return f"{order_id} {'approved' if approved else 'rejected'}"


@workflow
async def doomed(reason: str) -> str:
    """Fail after a short wait."""
    await sleep(0.2)
    raise ValueError(reason)


@workflow
async def rollover(month: int) -> str:
    """Price a month's item, then go on as a new run until the third month."""
    await price("pen")
    if month < 3:
        # A reminder the run leaves waiting: the hand-over cancels it.
        asyncio.create_task(sleep(timedelta(hours=1)))  # noqa: RUF006
        await sleep(0)
        logger.info("month %d billed", month)
        continue_as_new(month + 1)
    return f"billed {month} months"


@workflow
async def warehouse(token_file: str) -> str:
    """Wait for a task finished from outside."""
    return await ask_warehouse(token_file)


@command
async def quote(items: list[str]) -> int:
    """Return what the items cost."""
    return sum(PRICES[item] for item in items)


@subscription(shipped)
async def audit(shipment: Shipment) -> None:
    """A subscription that always fails, so that dead letters exist."""
    raise RuntimeError(f"audit is down, {shipment.order_id} not audited")
