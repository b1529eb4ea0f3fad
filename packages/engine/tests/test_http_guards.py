"""HttpApp's guards: cross-site requests, allowed hosts and origins, nosniff, hidden paths."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eventual_engine import HttpOptions

from .http_shop import (
    Serve,
    serving,
)


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve the shop (plus extra definitions) through httpx's ASGI transport."""
    async with serving() as build:
        yield build


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://test:8080"},
        {"sec-fetch-site": "cross-site"},
    ],
)
async def test_cross_site_state_changes_are_refused(serve: Serve, headers: dict[str, str]) -> None:
    """A browser's cross-site POST to a command or the system API gets 403."""
    client = await serve()
    called = await client.post("/_rpc/add_item", json={"sku": "a", "quantity": 1}, headers=headers)
    assert called.status_code == 403
    assert "POST" in called.json()["error"]
    cancel = await client.post("/_eventual/executions/w/n/cancel", headers=headers)
    assert cancel.status_code == 403
    read = await client.get("/orders/o1", headers=headers)
    assert read.status_code == 200  # reading is not changing; CORS keeps the answer away


async def test_same_origin_and_allowed_origins_may_post(serve: Serve) -> None:
    """The server's own origin, a listed origin and a request without Origin are served."""
    client = await serve(options=HttpOptions(allowed_origins=["http://localhost:5173"]))
    item = {"sku": "a", "quantity": 1}
    for headers in (
        {"origin": "http://test"},
        {"origin": "http://localhost:5173"},
        {"sec-fetch-site": "same-origin"},
        {},
    ):
        response = await client.post("/_rpc/add_item", json=item, headers=headers)
        assert response.status_code == 200, headers


async def test_allowed_hosts_refuse_a_rebound_name(serve: Serve) -> None:
    """With allowed_hosts, a request for another host name gets 421 before any routing."""
    loopback = HttpOptions(allowed_hosts=("localhost", "127.0.0.1", "[::1]"))
    client = await serve(options=loopback)
    for host in ("attacker.example", "attacker.example:3111", "127.0.0.1.nip.io", ""):
        response = await client.get("/_eventual/executions", headers={"host": host})
        assert response.status_code == 421, host
        assert response.json()["detail"]["host"] == host
        assert (await client.get("/nowhere", headers={"host": host})).status_code == 421
    for host in ("localhost:3111", "127.0.0.1:3111", "[::1]:3111", "LOCALHOST"):
        response = await client.get("/_eventual/executions", headers={"host": host})
        assert response.status_code == 200, host
    open_ = await serve()
    assert (await open_.get("/hello/a", headers={"host": "anything"})).status_code == 200


def test_allowed_hosts_and_origins_are_checked() -> None:
    """HttpOptions refuses a host with a port or an origin with a path, saying what to give."""
    with pytest.raises(ValueError, match="not a host name"):
        HttpOptions(allowed_hosts=["localhost:3111"])
    with pytest.raises(ValueError, match="not an origin"):
        HttpOptions(allowed_origins=["localhost:5173/app"])
    assert HttpOptions(allowed_hosts="LocalHost").allowed_hosts == ("localhost",)


async def test_every_response_says_nosniff(serve: Serve) -> None:
    """API answers, errors and the 413 carry x-content-type-options: nosniff."""
    client = await serve(options=HttpOptions(max_body_bytes=10))
    for response in (
        await client.get("/hello/a"),
        await client.get("/nowhere"),
        await client.get("/_eventual/health"),
        await client.post("/echo", content=b"x" * 11),
        await client.get("/crash"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_without_the_token_no_system_path_is_revealed(serve: Serve) -> None:
    """Without the token, known and unknown system paths alike answer 401, not 404 or 405."""
    client = await serve(options=HttpOptions(token="t"))
    for method, path in (
        ("GET", "/_eventual/nowhere"),
        ("DELETE", "/_eventual/executions"),
        ("GET", "/_eventual/executions/w/n"),
        ("OPTIONS", "/_eventual/executions"),
    ):
        response = await client.request(method, path)
        assert response.status_code == 401, (method, path)
    assert (await client.get("/_eventual/health")).status_code == 200
