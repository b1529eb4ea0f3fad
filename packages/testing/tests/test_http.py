"""env.call and env.http: commands and routes through the real HTTP dispatch."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from eventual import (
    HttpError,
    HttpRequest,
    HttpResponse,
    Service,
    ValidationError,
    api,
    command,
    workflow,
)
from eventual_testing import TestEnvironment


@attrs.frozen
class Item:
    sku: str
    quantity: int


@workflow
async def restock(item: Item) -> int:
    return item.quantity


@command
async def add_item(item: Item) -> str:
    if item.sku == "forbidden":
        raise HttpError(403, "not allowed", {"sku": item.sku})
    if item.sku == "crash":
        raise RuntimeError("secret internals")
    handle = await restock.start(item, name=item.sku)
    return handle.id


@command
async def ping() -> str:
    return "pong"


@command
async def teapot() -> HttpResponse:
    return HttpResponse(b"short and stout", 418)


visits: list[str] = []


@command
async def visit(name: str) -> int:
    visits.append(name)
    return len(visits)


@api.get("/items/{sku}")
async def get_item(request: HttpRequest) -> HttpResponse:
    return HttpResponse.json({"sku": request.params["sku"]})


SERVICE = Service.from_definitions("shop", [restock, add_item, ping, teapot, visit, get_item])


async def test_call_round_trips_typed_input_and_output() -> None:
    """env.call posts the encoded input and decodes the output; the command starts work."""
    async with TestEnvironment(SERVICE) as env:
        execution_id = await env.call(add_item, Item(sku="a", quantity=3))
        assert execution_id == "restock/a"
        assert await env.execution(execution_id).result() == 3
        assert await env.call(ping, None) == "pong"


async def test_call_raises_http_error_with_the_status_and_detail() -> None:
    """A command's HttpError comes back as HttpError with its status, message and detail."""
    async with TestEnvironment(SERVICE) as env:
        with pytest.raises(HttpError) as denied:
            await env.call(add_item, Item(sku="forbidden", quantity=1))
        assert (denied.value.status, denied.value.message) == (403, "not allowed")
        assert denied.value.detail == {"sku": "forbidden"}


async def test_unexpected_exceptions_are_500_without_internals() -> None:
    """Any other exception is a 500 whose message does not leak the error."""
    async with TestEnvironment(SERVICE) as env:
        with pytest.raises(HttpError) as crashed:
            await env.call(add_item, Item(sku="crash", quantity=1))
        assert crashed.value.status == 500
        assert "secret" not in str(crashed.value)


async def test_input_that_does_not_fit_is_refused_before_sending() -> None:
    """env.call checks the input's type locally; env.http shows the server's 400."""
    async with TestEnvironment(SERVICE) as env:
        with pytest.raises(ValidationError):
            await env.call(add_item, "not an item")  # type: ignore[misc]
        response = await env.http.post("/_rpc/add_item", json={"sku": "a", "quantity": "x"})
        assert response.status_code == 400
        assert response.json()["detail"]["path"] == "input.quantity"


async def test_routes_and_own_responses_are_served() -> None:
    """env.http reaches REST routes; a command's own HttpResponse comes back as it is."""
    async with TestEnvironment(SERVICE) as env:
        response = await env.http.get("/items/book")
        assert response.json() == {"sku": "book"}
        assert (await env.http.get("/nowhere")).status_code == 404
        answer = await env.call(teapot, None)
        assert (answer.status, answer.body) == (418, b"short and stout")


async def test_values_that_cannot_be_stored_are_refused_naming_the_field() -> None:
    """A lone surrogate is refused before it is stored, naming the field, as over HTTP."""
    async with TestEnvironment(Service.from_definitions("shop", [restock, add_item])) as env:
        with pytest.raises(ValidationError) as started:
            await env.start(restock, Item("\ud800", 1))
        assert started.value.path == "sku"
        with pytest.raises(ValidationError) as called:
            await env.call(add_item, Item("\udfff", 1))
        assert called.value.path == "input.sku"
        response = await env.http.post(
            "/_rpc/add_item",
            content=b'{"sku": "\\ud800", "quantity": 1}',
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json()["detail"]["path"] == "input.sku"
        with pytest.raises(HttpError) as named:
            await env.call(add_item, Item("", 1))  # add_item starts restock named by the sku
        assert named.value.status == 400
        assert named.value.detail == {
            "path": "name",
            "problem": "invalid execution name '': must be non-empty without '/'",
        }


async def test_idempotency_keys_hold_on_the_virtual_clock() -> None:
    """env.http keeps an Idempotency-Key's first answer until 24 virtual hours have passed."""
    visits.clear()
    headers = {"idempotency-key": "visit-1"}
    async with TestEnvironment(SERVICE) as env:
        first = await env.http.post("/_rpc/visit", json="ann", headers=headers)
        again = await env.http.post("/_rpc/visit", json="ann", headers=headers)
        assert (first.json(), again.json()) == (1, 1)
        assert again.headers["idempotent-replayed"] == "true"
        await env.advance(timedelta(hours=24))
        later = await env.http.post("/_rpc/visit", json="ann", headers=headers)
        assert later.json() == 2
    assert visits == ["ann", "ann"]
