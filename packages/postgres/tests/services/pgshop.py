"""What `eventual local --backend postgres` serves in test_cli.py: a task, log lines, an event."""

from __future__ import annotations

import attrs

from eventual import event, logger, subscription, task, workflow


@attrs.frozen
class Packed:
    order: str


packed = event("Packed", Packed)


@task
async def pack(order: str) -> str:
    """Pack an order."""
    logger.info("packing %s", order)
    return f"packed {order}"


@workflow
async def fulfil(order: str) -> str:
    """Pack the order, then tell whoever listens."""
    logger.info("fulfilling %s", order)
    result = await pack(order)
    await packed.publish(Packed(order))
    return result


@subscription(packed)
async def note_packed(event: Packed) -> None:
    """Listen to the shop's own event, so the bus holds a subscription."""
    logger.info("heard %s", event.order)
