"""A CDK app that deploys the orders example service (``cdk deploy``).

The service's code is ``examples/orders/src`` (``orders.service``); this app only
says where it goes. Run ``cdk synth`` to see the template, ``cdk deploy`` to
create it in the account and region of your AWS credentials.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, CfnOutput, Stack

from eventual_aws_cdk import Service

ORDERS_SRC = Path(__file__).resolve().parent.parent / "orders" / "src"

app = App()
stack = Stack(app, "OrdersService", description="eventual example: the orders service")
orders = Service(stack, "Orders", service="orders.service", source_dir=ORDERS_SRC)
CfnOutput(stack, "ApiUrl", value=orders.api_url, description="POST /_rpc/place_order here")
CfnOutput(stack, "EventBusName", value=orders.event_bus.event_bus_name)
app.synth()
