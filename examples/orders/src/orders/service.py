"""The orders service: the example of the design document, with real task bodies.

An order is placed through the ``place_order`` command, which starts the ``fulfil``
workflow. The workflow reserves stock, waits up to an hour for an ``approval``
signal, waits five minutes, publishes ``OrderPlaced`` (which the ``audit``
subscription records) and returns how the order ended.
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
