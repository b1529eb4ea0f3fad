"""A function of the app that links the orders service and calls it through its URL."""

import json
import urllib.request

from sst import Resource


def handler(event: dict[str, object], context: object) -> dict[str, object]:
    """Place an order with the linked service and answer its execution id."""
    request = urllib.request.Request(
        f"{Resource.Orders.url}/_rpc/place_order",
        data=json.dumps({"id": "web-1", "item": "book", "quantity": 1}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return {"statusCode": 200, "body": response.read().decode()}
