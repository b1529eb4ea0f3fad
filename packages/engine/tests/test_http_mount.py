"""HttpApp under a prefix: the ASGI root_path, as Starlette's Mount and proxies set it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from eventual import HttpRequest, HttpResponse, Service, api, command, workflow
from eventual_engine import HttpApp, HttpOptions, LocalRuntime
from eventual_engine._http._mount import inside_mount


@attrs.frozen
class Order:
    id: str
    quantity: int


@workflow
async def ship(order: Order) -> str:
    return f"shipped {order.quantity} of {order.id}"


@command
async def place(order: Order) -> str:
    return (await ship.start(order, name=order.id)).id


@command(path="/orders/{id}", method="GET")
async def show(id: str) -> str:
    return f"order {id}"


@api.get("/where")
async def where(request: HttpRequest) -> HttpResponse:
    return HttpResponse.json({"path": request.path})


SERVICE = Service.from_definitions("mounted", [ship, place, show, where])


@pytest.fixture
async def runtime() -> AsyncIterator[LocalRuntime]:
    """The service running in memory."""
    async with LocalRuntime(SERVICE) as rt:
        yield rt


def _client(app: Any, root_path: str = "/shop") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    return httpx.AsyncClient(transport=transport, base_url="http://app.test")


async def test_commands_routes_and_system_api_answer_under_the_prefix(
    runtime: LocalRuntime,
) -> None:
    """With root_path /shop, /shop/_rpc/..., REST routes, api routes and /_eventual/ all answer."""
    async with _client(HttpApp(runtime)) as client:
        placed = await client.post("/shop/_rpc/place", json={"id": "o1", "quantity": 2})
        shown = await client.get("/shop/orders/o%2F1")
        routed = await client.get("/shop/where")
        record = await client.get("/shop/_eventual/executions/ship/o1", params={"wait": "5"})
    assert placed.json() == "ship/o1"
    assert shown.json() == "order o/1"  # the raw path still keeps %2F inside its parameter
    assert routed.json() == {"path": "/where"}  # handlers see the path inside the mount
    assert record.json()["result"] == "shipped 2 of o1"


async def test_openapi_names_the_prefix_as_its_server(runtime: LocalRuntime) -> None:
    """The OpenAPI document lists the prefix in servers, and only when mounted."""
    app = HttpApp(runtime)
    async with _client(app) as mounted, _client(app, root_path="") as bare:
        under = (await mounted.get("/shop/_eventual/openapi.json")).json()
        at_root = (await bare.get("/_eventual/openapi.json")).json()
    assert under["servers"] == [{"url": "/shop"}]
    assert "servers" not in at_root
    assert "/_rpc/place" in under["paths"]


async def test_starlette_mount_serves_the_service_beside_the_apps_own_routes(
    runtime: LocalRuntime,
) -> None:
    """Under Starlette's Mount, the service answers under its prefix and the app elsewhere."""

    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("home")

    app = Starlette(routes=[Route("/", home), Mount("/shop", app=HttpApp(runtime))])
    async with _client(app, root_path="") as client:
        home_page = await client.get("/")
        placed = await client.post("/shop/_rpc/place", json={"id": "o2", "quantity": 1})
        health = await client.get("/shop/_eventual/health")
        openapi = await client.get("/shop/_eventual/openapi.json")
        missing = await client.post("/_rpc/place", json={"id": "o3", "quantity": 1})
    assert home_page.text == "home"
    assert placed.json() == "ship/o2"
    assert health.json() == {"status": "ok", "service": "mounted"}
    assert openapi.json()["servers"] == [{"url": "/shop"}]
    assert missing.status_code == 404  # outside the mount, the application answers


async def test_a_token_protects_the_mounted_system_api(runtime: LocalRuntime) -> None:
    """Under a prefix, the system API still asks for its token."""
    app = HttpApp(runtime, options=HttpOptions(token="s3cret"))
    async with _client(app) as client:
        refused = await client.get("/shop/_eventual/executions")
        allowed = await client.get(
            "/shop/_eventual/executions", headers={"authorization": "Bearer s3cret"}
        )
    assert (refused.status_code, allowed.status_code) == (401, 200)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"path": "/a/b"}, ("", "/a/b", None)),
        ({"root_path": "/shop", "path": "/shop/x", "raw_path": b"/shop/x"}, ("/shop", "/x", b"/x")),
        ({"root_path": "/shop/", "path": "/shop", "raw_path": b"/shop"}, ("/shop", "/", b"/")),
        # Servers of the older convention strip the prefix from the path themselves.
        ({"root_path": "/shop", "path": "/x", "raw_path": b"/x"}, ("/shop", "/x", b"/x")),
        # A prefix written with escapes in the raw path.
        (
            {"root_path": "/caf\u00e9", "path": "/caf\u00e9/a/b", "raw_path": b"/caf%C3%A9/a%2Fb"},
            ("/caf\u00e9", "/a/b", b"/a%2Fb"),
        ),
        # A raw path that matches neither: routing falls back to the decoded path.
        (
            {"root_path": "/shop", "path": "/shop/x", "raw_path": b"/elsewhere/x"},
            ("/shop", "/x", None),
        ),
    ],
)
def test_inside_mount(scope: dict[str, Any], expected: tuple[str, str, bytes | None]) -> None:
    """The path inside the mount drops the prefix, under either convention."""
    assert inside_mount(scope) == expected
