"""The orders service: the example of the design document, with real task bodies.

An order is placed through the ``place_order`` command, which starts the ``fulfil``
workflow. The workflow reserves stock, waits up to an hour for an ``approval``
signal, waits five minutes, publishes ``OrderPlaced`` (which the ``audit``
subscription records) and returns how the order ended. Every night at 01:00 in
New York, the scheduled ``nightly_restock`` workflow tops the stock back up.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import timedelta

import attrs

from eventual import (
    HttpError,
    HttpRequest,
    HttpResponse,
    RetryPolicy,
    Schedule,
    Timeout,
    api,
    command,
    event,
    signal,
    sleep,
    subscription,
    task,
    workflow,
)

logger = logging.getLogger(__name__)

# Stock on hand per item. A real service keeps this in a database; an in-module dict
# keeps the example self-contained (and per process: the local runtime and tests
# run tasks in this process).
STOCK: dict[str, int] = {"book": 10, "pen": 100, "x": 1_000, "y": 1_000}

# Every OrderPlaced event the audit subscription has received, in order.
AUDIT_LOG: list[str] = []

# What the nightly restock brings each item back up to. Items not listed (the
# demo's "x" and "y") are never restocked.
RESTOCK_LEVELS: dict[str, int] = {"book": 10, "pen": 100}

# How long an approved order waits before it ships: five minutes, as in the design
# document. The README's demo sets ORDERS_SHIPPING_DELAY=5 (seconds) so that its
# walk-through ends in seconds. Read once at import, so every replay sees one value.
SHIPPING_DELAY = timedelta(seconds=float(os.environ.get("ORDERS_SHIPPING_DELAY", "300")))


@attrs.frozen
class Order:
    id: str
    item: str
    quantity: int


@attrs.frozen
class OrderPlaced:
    order_id: str


order_placed = event("OrderPlaced", OrderPlaced)  # name, payload type
approval = signal("approval", bool)  # name, payload type


@task(timeout=timedelta(seconds=30), retry=RetryPolicy(max_attempts=3))
async def reserve_stock(item: str, quantity: int) -> bool:
    # Tasks run at least once: an attempt that crashes after the decrement is retried
    # and decrements again. A real store would key the reservation by the task's
    # token (task_info().token) or the execution id, so that a retry is a no-op.
    available = STOCK.get(item, 0)
    if quantity > available:
        return False
    STOCK[item] = available - quantity
    return True


@task(timeout=timedelta(seconds=30), retry=RetryPolicy(max_attempts=3))
async def restock() -> dict[str, int]:
    # Topping up to a level, rather than adding a quantity, makes a retried attempt
    # a no-op. Returns how many of each item were added, for the run's result.
    added: dict[str, int] = {}
    for item, level in RESTOCK_LEVELS.items():
        missing = level - STOCK.get(item, 0)
        if missing > 0:
            STOCK[item] = level
            added[item] = missing
    logger.info("restocked %s", added or "nothing")
    return added


@workflow(timeout=timedelta(days=7))
async def fulfil(order: Order) -> str:
    if not await reserve_stock(order.item, order.quantity):  # durable task call
        return "out-of-stock"
    try:
        approved = await approval.expect(timeout=timedelta(hours=1))
    except Timeout:
        return "timed-out"
    await sleep(SHIPPING_DELAY)  # durable timer
    # Two tasks at once, as in DESIGN.md; their results are not used here.
    a, b = await asyncio.gather(reserve_stock("x", 1), reserve_stock("y", 1))  # noqa: RUF059
    await order_placed.publish(OrderPlaced(order.id))  # recorded, exactly once
    return "shipped" if approved else "rejected"


# Every night at 01:00 in the warehouse's time zone (06:00 UTC in winter, 05:00 in
# summer); each run is the execution nightly_restock/<its time in UTC>. A run still
# going at the next night's time is stuck: that night is skipped rather than two
# restocks running at once. Nights missed while the service was down are made up
# for by one run, when it is back.
@workflow(
    schedule=Schedule.cron("0 1 * * *", tz="America/New_York", overlap="skip", catch_up="once"),
)
async def nightly_restock() -> dict[str, int]:
    return await restock()


@command  # POST /_rpc/place_order
async def place_order(order: Order) -> str:
    execution = await fulfil.start(order, name=order.id)
    return execution.id


@api.get("/orders/{order_id}")
async def get_order(request: HttpRequest) -> HttpResponse:
    if request.params["order_id"] == "missing":
        raise HttpError(404, "no such order")
    return HttpResponse.json({"id": request.params["order_id"]})


@subscription(order_placed)
async def audit(placed: OrderPlaced) -> None:
    AUDIT_LOG.append(placed.order_id)
    logger.info("order %s placed", placed.order_id)
