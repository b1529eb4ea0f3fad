"""A second service that subscribes to the orders service's ``OrderPlaced`` events."""

from __future__ import annotations

import attrs

from eventual import event, subscription, task


@attrs.frozen
class OrderPlaced:
    order_id: str


order_placed = event("OrderPlaced", OrderPlaced)


@task(memory=1024)
async def book_courier(order_id: str) -> str:
    """Book a courier for the order."""
    return f"courier for {order_id}"


@subscription(order_placed)
async def ship(placed: OrderPlaced) -> None:
    """Ship what was ordered."""
    await book_courier(placed.order_id)
