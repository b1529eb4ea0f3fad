"""The service the subscription semantics run: load it by this module's name.

``Service.load("eventual_messaging.conformance.shipping", name=SOURCE)`` gives a
runtime that imports services by name (the AWS handlers do) the same service
that :data:`SERVICE` is in this process. Its handlers record what they did in
the module-level ``handled`` and ``calls``; :func:`reset` forgets it between tests.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from eventual import RetryPolicy, Service, event, subscription, workflow

__all__ = [
    "SERVICE",
    "SOURCE",
    "Shipped",
    "accepted",
    "audit",
    "calls",
    "europe",
    "flaky",
    "handled",
    "picky",
    "reset",
    "ship",
    "shipped",
]

SOURCE = "shipping"
"""The service's name: the source of the events it publishes."""


@attrs.frozen
class Shipped:
    """The event the service publishes and subscribes to."""

    order_id: str
    region: str


shipped = event("Shipped", Shipped)

handled: list[str] = []
"""Each handler run that returned, as ``"<subscription> <order id>"``."""
calls: dict[str, int] = {}
"""Handler runs by ``"<subscription> <order id>"``, failed ones included."""
accepted: set[str] = set()
"""Order ids ``picky`` takes; it refuses the others."""


def _count(name: str, order_id: str) -> int:
    key = f"{name} {order_id}"
    calls[key] = calls.get(key, 0) + 1
    return calls[key]


@subscription(shipped)
async def audit(s: Shipped) -> None:
    """Every shipment."""
    handled.append(f"audit {s.order_id}")


@subscription(shipped.where(region="eu"))
async def europe(s: Shipped) -> None:
    """Shipments to Europe only."""
    handled.append(f"europe {s.order_id}")


@subscription(
    shipped.where(region="flaky"),
    retry=RetryPolicy(max_attempts=4, initial_interval=timedelta(seconds=1), backoff=1.0),
)
async def flaky(s: Shipped) -> None:
    """Fails its first two runs, then succeeds."""
    # A delivery handed over twice may spend both failures on one attempt.
    if _count("flaky", s.order_id) <= 2:
        raise ConnectionError(f"carrier unreachable for {s.order_id}")
    handled.append(f"flaky {s.order_id}")


@subscription(shipped.where(region="picky"))
async def picky(s: Shipped) -> None:
    """Refuses the order ids not in ``accepted``."""
    if s.order_id not in accepted:
        raise ValueError(f"cannot ship {s.order_id}")
    handled.append(f"picky {s.order_id}")


@workflow
async def ship(order_id: str) -> str:
    """Publishes two shipments from a workflow."""
    await shipped.publish(Shipped(order_id, "eu"), Shipped(order_id + "-us", "us"))
    return "shipped"


def reset() -> None:
    """Forget what earlier tests handled."""
    handled.clear()
    calls.clear()
    accepted.clear()


SERVICE = Service.from_definitions(SOURCE, [shipped, audit, europe, flaky, picky, ship])
"""The service, for a runtime in this process."""
