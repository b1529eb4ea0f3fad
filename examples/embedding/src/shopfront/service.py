"""The shop's service: an order waits for approval, then ships."""

from __future__ import annotations

from datetime import timedelta

import attrs

from eventual import Timeout, command, signal, task, workflow


@attrs.frozen
class Order:
    id: str
    item: str
    quantity: int


approval = signal("approval", bool)


@task
async def reserve(item: str, quantity: int) -> bool:
    """Reserve stock: at most five of anything."""
    return quantity <= 5


@workflow
async def fulfil(order: Order) -> str:
    """Reserve the stock, wait for approval, ship."""
    if not await reserve(order.item, order.quantity):
        return "out-of-stock"
    try:
        approved = await approval.expect(timeout=timedelta(hours=1))
    except Timeout:
        return "timed-out"
    return "shipped" if approved else "rejected"


@command
async def place_order(order: Order) -> str:
    """Start fulfilling an order; returns the execution id."""
    return (await fulfil.start(order, name=order.id)).id
