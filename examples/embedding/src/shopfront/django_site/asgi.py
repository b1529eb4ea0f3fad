"""The ASGI application: Django for its own URLs, the service under /orders.

Run with ``uvicorn shopfront.django_site.asgi:application``. Django answers no
lifespan events, so this application does: it opens the runtime at startup
(from then on the default of every request's task, Django's async views
included) and closes it at shutdown.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.core.asgi import get_asgi_application

from eventual_engine import HttpApp, LocalRuntime

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopfront.django_site.settings")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

PREFIX = "/orders"
django_app = get_asgi_application()
runtime = LocalRuntime("shopfront.service", db=os.environ.get("SHOPFRONT_DB", "shopfront.db"))
orders = HttpApp(runtime)


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    """Route /orders to the service, lifespan to the runtime, the rest to Django."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    path = str(scope.get("path", ""))
    if path == PREFIX or path.startswith(PREFIX + "/"):
        root_path = str(scope.get("root_path", "")) + PREFIX
        await orders({**scope, "root_path": root_path}, receive, send)
    else:
        await django_app(scope, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await runtime.__aenter__()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await runtime.__aexit__(None, None, None)
            await send({"type": "lifespan.shutdown.complete"})
            return
