"""HTTP values, routes, middleware and commands."""

from __future__ import annotations

import attrs
import pytest

from eventual import (
    Command,
    HttpError,
    HttpRequest,
    HttpResponse,
    Route,
    ValidationError,
    api,
    command,
)
from eventual._http import RoutePattern


@attrs.frozen
class Order:
    id: str
    quantity: int


@api.get("/orders/{order_id}")
async def get_order(request: HttpRequest) -> HttpResponse:
    if request.params["order_id"] == "missing":
        raise HttpError(404, "no such order")
    return HttpResponse.json({"id": request.params["order_id"]})


@command(path="/orders/{id}", method="put")
async def put_order(order: Order) -> Order:
    return order


@api.middleware
async def tag(request: HttpRequest, next: object) -> HttpResponse:
    response = await next(request)  # type: ignore[operator]
    assert isinstance(response, HttpResponse)
    return HttpResponse(response.body, response.status, {**(response.headers or {}), "x-tag": "1"})


async def test_route_handler_and_error() -> None:
    """Calling a route runs the handler; HttpError carries its status."""
    assert isinstance(get_order, Route)
    assert get_order.method == "GET"
    response = await get_order(
        HttpRequest(method="GET", path="/orders/o1", params={"order_id": "o1"})
    )
    assert response.status == 200
    assert response.body_bytes() == b'{"id":"o1"}'
    assert response.headers == {"content-type": "application/json"}
    with pytest.raises(HttpError) as info:
        await get_order(
            HttpRequest(method="GET", path="/orders/missing", params={"order_id": "missing"})
        )
    assert info.value.status == 404


async def test_middleware_wraps_a_handler() -> None:
    """A middleware can call the next handler and change the response."""

    async def handler(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    response = await tag(HttpRequest(method="GET", path="/"), handler)
    assert response.headers == {"x-tag": "1"}
    assert response.body_bytes() == b"ok"


def test_route_patterns() -> None:
    """Path patterns match whole segments and extract parameters."""
    pattern = RoutePattern("/orders/{order_id}/lines/{line}")
    assert pattern.match("/orders/o1/lines/2") == {"order_id": "o1", "line": "2"}
    assert pattern.match("/orders/o1/lines/2/") == {"order_id": "o1", "line": "2"}
    assert pattern.match("/orders/o1") is None
    assert RoutePattern("/").match("/") == {}
    for bad in ("orders", "/a/{x}{y}", "/a/{x}/{x}"):
        with pytest.raises(ValueError, match="route path"):
            RoutePattern(bad)


def test_unsupported_method_is_rejected() -> None:
    """Only the five REST methods are accepted."""
    with pytest.raises(ValueError, match="unsupported HTTP method"):
        api.route("TRACE", "/x")


async def test_command_decodes_its_input() -> None:
    """A command decodes JSON input to its declared type and runs directly when called."""
    assert isinstance(put_order, Command)
    assert put_order.method == "PUT"
    assert put_order.path is not None
    order = put_order.decode_input({"id": "o1", "quantity": 2})
    assert await put_order(order) == Order("o1", 2)
    assert put_order.encode_output(Order("o1", 2)) == {"id": "o1", "quantity": 2}
    with pytest.raises(ValidationError) as info:
        put_order.decode_input({"id": "o1", "quantity": "two"})
    assert info.value.path == "input.quantity"


def test_request_helpers() -> None:
    """HttpRequest decodes its body as text and JSON."""
    request = HttpRequest(method="POST", path="/", body=b'{"a": 1}')
    assert request.text() == '{"a": 1}'
    assert request.json() == {"a": 1}
    assert HttpRequest(method="GET", path="/").json() is None


def test_request_json_refuses_what_cannot_be_stored() -> None:
    """request.json() answers 400 naming where a lone surrogate or too deep nesting is."""
    surrogate = HttpRequest(method="POST", path="/", body=b'{"items": [{"name": "\\ud800"}]}')
    with pytest.raises(HttpError) as info:
        surrogate.json()
    assert info.value.status == 400
    assert info.value.detail == {
        "path": "body.items[0].name",
        "problem": 'text holds a lone surrogate "\\ud800" at index 0, which cannot be stored '
        "as UTF-8; send valid Unicode text",
    }
    for body in (b"[" * 65 + b"]" * 65, b"[" * 100_000):
        with pytest.raises(HttpError) as deep:
            HttpRequest(method="POST", path="/", body=body).json()
        assert deep.value.status == 400
    assert HttpRequest(method="POST", path="/", body=b"[" * 64 + b"]" * 64).json() is not None
