"""HttpApp's middleware: it reads and changes requests and responses, errors included."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs
import pytest

from eventual import (
    HttpError,
    HttpRequest,
    HttpResponse,
    api,
)

from .http_shop import (
    Next,
    Serve,
    serving,
)


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve the shop (plus extra definitions) through httpx's ASGI transport."""
    async with serving() as build:
        yield build


@api.middleware
async def require_key(request: HttpRequest, next: Next) -> HttpResponse:
    if request.path.startswith("/hello") and request.headers.get("x-api-key") != "k":
        raise HttpError(401, "missing API key")
    return await next(request)


@api.middleware
async def stamp(request: HttpRequest, next: Next) -> HttpResponse:
    changed = attrs.evolve(request, query={**request.query, "stamped": "yes"})
    response = await next(changed)
    headers = {**(response.headers or {}), "x-stamp": str(response.status)}
    return HttpResponse(response.body, response.status, headers)


async def test_middleware_reads_and_changes_request_and_response(serve: Serve) -> None:
    """Middleware can refuse a request, change it, and change the response, in order."""
    client = await serve(require_key, stamp)
    refused = await client.get("/hello/ann")
    assert refused.status_code == 401
    assert refused.json()["error"] == "missing API key"
    assert "x-stamp" not in refused.headers
    allowed = await client.get("/hello/ann", headers={"x-api-key": "k"})
    assert allowed.json()["q"] == {"stamped": "yes"}
    assert allowed.headers["x-stamp"] == "200"


@api.middleware
async def rebuild(request: HttpRequest, next: Next) -> HttpResponse:
    return await next(HttpRequest(method=request.method, path=request.path, body=request.body))


@api.get("/whoami")
async def whoami(request: HttpRequest) -> HttpResponse:
    return HttpResponse.json({"request_id": request.headers.get("x-request-id")})


async def test_middleware_may_pass_on_a_request_it_built(serve: Serve) -> None:
    """A request rebuilt without headers still gets its errors and keeps its request id."""
    client = await serve(rebuild, whoami)
    missing = await client.get("/nowhere", headers={"x-request-id": "r-1"})
    assert missing.status_code == 404
    assert missing.json()["request_id"] == missing.headers["x-request-id"] == "r-1"
    bad = await client.post("/_rpc/add_item", json={"sku": "a"})
    assert bad.status_code == 415  # the rebuilt request lost its content type
    assert bad.json()["request_id"] == bad.headers["x-request-id"]
    seen = await client.get("/whoami", headers={"x-request-id": "r-2"})
    assert seen.json() == {"request_id": "r-2"}


async def test_middleware_sees_error_responses(serve: Serve) -> None:
    """Errors of the endpoint reach middleware as responses, so it can decorate them."""
    client = await serve(stamp)
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["x-stamp"] == "404"
