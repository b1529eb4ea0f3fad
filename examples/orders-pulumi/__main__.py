"""The orders example on AWS: every resource its plan lists, one ``pulumi up`` away."""

from pathlib import Path

import pulumi

from eventual_pulumi import FunctionOverrides, Service

# examples/orders keeps its code in a src layout: the service imports from src.
ORDERS_SRC = Path(__file__).resolve().parent.parent / "orders" / "src"

orders = Service(
    "orders",
    service="orders.service",
    source_dir=ORDERS_SRC,
    # One prefix per stack, so that dev and prod can share an account and region.
    prefix=f"orders-{pulumi.get_stack()}",
    overrides={"task-reserve_stock": FunctionOverrides(memory_mb=1024)},
)

pulumi.export("api_url", orders.api_url)
pulumi.export("event_bus", orders.event_bus_name)
pulumi.export("functions", {name: f.name for name, f in orders.functions.items()})
