"""Flask: synchronous views driving a service that runs elsewhere (``eventual local``).

Run the service with ``eventual local`` and this application with
``flask --app shopfront.flask_app run``; ``ORDERS_URL`` says where the service is.
"""

from __future__ import annotations

import os

from flask import Flask

from eventual import SyncServiceClient

from .service import Order, approval, fulfil, place_order


def create_app(orders_url: str | None = None) -> Flask:
    """Return the Flask application, talking to the service at ``orders_url``."""
    app = Flask(__name__)
    url = orders_url or os.environ.get("ORDERS_URL", "http://127.0.0.1:3111")

    @app.post("/buy/<oid>")
    def buy(oid: str) -> dict[str, str]:
        with SyncServiceClient(url) as orders:
            execution_id = orders.call(place_order, Order(oid, "book", 1))
        return {"execution": execution_id}

    @app.post("/approve/<oid>")
    def approve(oid: str) -> dict[str, str]:
        with SyncServiceClient(url) as orders:
            handle = orders.execution(f"fulfil/{oid}")
            handle.signal(approval, True)
            return {"result": handle.result(timeout=30)}

    @app.post("/direct/<oid>")
    def direct(oid: str) -> dict[str, str]:
        with SyncServiceClient(url) as orders:
            handle = orders.start(fulfil, Order(oid, "lamp", 9), name=oid)
            return {"result": handle.result(timeout=30)}

    return app
