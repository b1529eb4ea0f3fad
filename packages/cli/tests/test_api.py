"""The system API client: paths, paging, and every failure worded as one line."""

from __future__ import annotations

import json

import click
import httpx
import pytest

from eventual_cli._commands._api import ApiFailure, SystemClient, execution_path


def _client(handler: httpx.MockTransport, token: str | None = None) -> SystemClient:
    return SystemClient("http://svc.test/", token, transport=handler)


def test_execution_path_quotes_and_checks() -> None:
    """An id becomes its quoted system API path; an id without a slash is refused."""
    assert execution_path("orders/a b") == "/_eventual/executions/orders/a%20b"
    with pytest.raises(click.BadParameter, match="WORKFLOW/NAME"):
        execution_path("orders")


def test_sends_token_and_json() -> None:
    """The token goes in a bearer header and bodies are JSON."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"accepted": True})

    with _client(httpx.MockTransport(answer), token="t0k") as client:
        assert client.request("POST", "/_eventual/events/e", body=[1]) == {"accepted": True}
    assert seen[0].headers["authorization"] == "Bearer t0k"
    assert seen[0].headers["content-type"] == "application/json"
    assert json.loads(seen[0].content) == [1]


def test_token_goes_only_to_the_system_api() -> None:
    """A command or route never receives the system API's token (its middleware would see it)."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json="ok")

    with _client(httpx.MockTransport(answer), token="t0k") as client:
        client.request("POST", "/_rpc/place_order", body={"id": "o1"})
        client.request("GET", "/orders/o1")
        client.request("GET", "/_eventualish")
        client.request("GET", "/_eventual/executions")
    assert [request.headers.get("authorization") for request in seen] == [
        None,
        None,
        None,
        "Bearer t0k",
    ]


def test_pages_follow_cursors_up_to_the_limit() -> None:
    """pages() follows `next` cursors and stops at the limit."""
    cursors: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        cursors.append(cursor)
        start = int(cursor or 0)
        size = int(request.url.params["limit"])
        return httpx.Response(
            200, json={"items": list(range(start, start + size)), "next": str(start + size)}
        )

    with _client(httpx.MockTransport(answer)) as client:
        assert list(client.pages("/x", "items", 5)) == [0, 1, 2, 3, 4]
    assert cursors == [None]


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            404,
            {"error": "no workflow named 'x'", "detail": None},
            "no workflow named 'x' (HTTP 404)",
        ),
        (
            400,
            {"error": "invalid input", "detail": {"path": "body.id", "problem": "expected str"}},
            "invalid input: body.id: expected str (HTTP 400)",
        ),
        (401, {"error": "token"}, "needs a token for the system API: pass --token"),
        (502, "<html>bad gateway</html>", "<html>bad gateway</html> (HTTP 502)"),
    ],
)
def test_errors_are_one_line(status: int, body: object, message: str) -> None:
    """Error answers become an ApiFailure whose message names the problem and the status."""

    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    with _client(httpx.MockTransport(answer)) as client, pytest.raises(ApiFailure) as caught:
        client.request("GET", "/_eventual/executions")
    assert message in caught.value.message
    assert caught.value.status == status


def test_unreachable_and_not_json() -> None:
    """A refused connection and a non-JSON answer are worded for the user."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with _client(httpx.MockTransport(refuse)) as client, pytest.raises(ApiFailure) as caught:
        client.history("a/b")
    assert "cannot reach the service at http://svc.test" in caught.value.message
    assert caught.value.status is None

    def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html></html>")

    with _client(httpx.MockTransport(html)) as client, pytest.raises(ApiFailure, match="not JSON"):
        client.execution("a/b")
