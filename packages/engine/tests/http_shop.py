"""The shop service the HTTP tests serve: commands, routes, and how to serve it."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import httpx

from eventual import (
    Command,
    HttpError,
    HttpRequest,
    HttpResponse,
    Middleware,
    Route,
    Service,
    api,
    command,
)
from eventual_engine import Engine, HttpApp, HttpOptions, MemoryBackend


@attrs.frozen
class Item:
    sku: str
    quantity: int
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Lookup:
    order_id: str
    verbose: bool = False


@command
async def add_item(item: Item) -> dict[str, int]:
    """Add an item."""
    return {item.sku: item.quantity * 2}


@command(path="/orders/{order_id}", method="GET")
async def get_order(lookup: Lookup) -> Lookup:
    return lookup


@command(path="/items/{sku}/quantity", method="PUT")
async def set_quantity(item: Item) -> Item:
    return item


@command(path="/counts/{count}", method="POST")
async def double(count: int) -> int:
    return count * 2


@command
async def ping() -> str:
    return "pong"


@command
async def broken(item: Item) -> str:
    raise RuntimeError("database password is hunter2")


@command
async def refuse(item: Item) -> str:
    raise HttpError(409, "item taken", {"sku": item.sku})


@command
async def teapot() -> HttpResponse:
    return HttpResponse(b"short and stout", 418, {"content-type": "text/plain"})


@api.get("/hello/{name}")
async def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse.json({"hello": request.params["name"], "q": dict(request.query)})


@api.post("/echo")
async def echo(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.body, 200, {"content-type": "application/octet-stream"})


@api.delete("/hello/{name}")
async def forget(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"", 204)


@api.get("/crash")
async def crash(request: HttpRequest) -> HttpResponse:
    raise KeyError("secret-key-material")


@api.get("/not-a-response")
async def not_a_response(request: HttpRequest) -> HttpResponse:
    return "oops"  # type: ignore[return-value]


Definition = Command[Any, Any] | Route | Middleware
DEFINITIONS: list[Definition] = [
    add_item,
    get_order,
    set_quantity,
    double,
    ping,
    broken,
    refuse,
    teapot,
    hello,
    echo,
    forget,
    crash,
    not_a_response,
]

Serve = Callable[..., Awaitable[httpx.AsyncClient]]
JSON = {"content-type": "application/json"}
Next = Callable[[HttpRequest], Awaitable[HttpResponse]]


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[Serve]:
    """Yield a function serving the shop (plus extra definitions) through httpx's ASGI transport."""
    clients: list[httpx.AsyncClient] = []

    async def build(*extra: Definition, options: HttpOptions | None = None) -> httpx.AsyncClient:
        service = Service.from_definitions("shop", [*extra, *DEFINITIONS])
        app = HttpApp(Engine(service, MemoryBackend()), options=options)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        clients.append(client)
        return client

    try:
        yield build
    finally:
        for client in clients:
            await client.aclose()
