"""ServiceClient against a scripted server: requests sent, answers decoded, errors mapped."""

from __future__ import annotations

import asyncio
import contextvars
import json
import sys
from collections.abc import Callable

import attrs
import httpx
import pytest

from eventual import (
    DefinitionNotFound,
    ExecutionAlreadyExists,
    ExecutionNotFound,
    ExecutionStatus,
    HttpError,
    RuntimeNotAvailable,
    ServiceClient,
    ValidationError,
    WorkflowFailed,
    command,
    event,
    signal,
    workflow,
)


@attrs.frozen
class Order:
    id: str
    quantity: int


@command
async def place(order: Order) -> list[int]:
    return [order.quantity]


@workflow
async def fulfil(order: Order) -> Order:
    return order


approval = signal("approval", bool)
placed = event("placed", Order)

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, token: str | None = "tok") -> ServiceClient:
    return ServiceClient("http://svc/", token=token, transport=httpx.MockTransport(handler))


def _record(status: str, **fields: object) -> dict[str, object]:
    return {
        "id": "fulfil/a",
        "workflow": "fulfil",
        "name": "a",
        "status": status,
        "input": {"id": "a", "quantity": 1},
        "input_digest": "d",
        "started_at": "2026-01-01T00:00:00Z",
        **fields,
    }


async def test_call_posts_the_encoded_input_and_decodes_the_output() -> None:
    """call() posts the input as JSON to /_rpc/{name} and decodes the output by its type."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[json.loads(request.content)["quantity"]])

    async with _client(handler) as client:
        assert await client.call(place, Order("a", 3)) == [3]
    [request] = seen
    assert (request.method, request.url.path) == ("POST", "/_rpc/place")
    assert "authorization" not in request.headers  # the token is for the system API only


async def test_command_errors_raise_http_error() -> None:
    """A command's error status raises HttpError with the body's error and detail."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(409, json={"error": "taken", "detail": {"id": "a"}})

    async with _client(handler) as client:
        with pytest.raises(HttpError) as caught:
            await client.call(place, Order("a", 1))
    assert (caught.value.status, caught.value.message, caught.value.detail) == (
        409,
        "taken",
        {"id": "a"},
    )


async def test_result_long_polls_until_the_end() -> None:
    """result() asks the server to wait, again and again, until the execution has ended."""
    waits: list[str | None] = []
    answers = [
        _record("RUNNING"),
        _record("RUNNING"),
        _record("SUCCEEDED", result={"id": "a", "quantity": 1}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer tok"
        if request.method == "POST":
            return httpx.Response(201, json={"id": "fulfil/a"})
        waits.append(request.url.params.get("wait"))
        return httpx.Response(200, json=answers.pop(0))

    async with _client(handler) as client:
        handle = await client.start(fulfil, Order("a", 1), name="a")
        assert await handle.result() == Order("a", 1)
    assert waits == ["20.0", "20.0", "20.0"]


async def test_failed_result_raises() -> None:
    """An execution that ended FAILED makes result() raise WorkflowFailed."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_record("FAILED", error_type="KeyError", message="k"))

    async with _client(handler) as client:
        handle = await client.execution("fulfil/a")
        with pytest.raises(WorkflowFailed) as caught:
            await handle.result()
        assert await handle.status() is ExecutionStatus.FAILED
    assert (caught.value.error_type, caught.value.message) == ("KeyError", "k")


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, {"error": "no execution", "detail": None}, ExecutionNotFound),
        (409, {"error": "exists", "detail": None}, ExecutionAlreadyExists),
        (
            400,
            {"error": "invalid input", "detail": {"path": "body.x", "problem": "p"}},
            ValidationError,
        ),
        (501, {"error": "no bus", "detail": None}, RuntimeNotAvailable),
        (401, {"error": "token", "detail": None}, HttpError),
        (502, "not json", HttpError),
    ],
)
async def test_system_errors_are_mapped(status: int, body: object, error: type[Exception]) -> None:
    """System API statuses become eventual's own errors."""

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    async with _client(handler) as client:
        with pytest.raises(error):
            await client.execution("fulfil/a")


async def test_unknown_workflow_is_definition_not_found() -> None:
    """Starting a workflow the service does not have raises DefinitionNotFound."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": "no workflow named 'fulfil'", "detail": None})

    async with _client(handler) as client:
        with pytest.raises(DefinitionNotFound):
            await client.start(fulfil, Order("a", 1))


async def test_signal_publish_and_list() -> None:
    """Signals and events are encoded by their types; listings follow the cursor."""
    seen: list[tuple[str, str, object]] = []
    pages = [
        {"executions": [_record("RUNNING", name="b")], "next": "c1"},
        {"executions": [_record("RUNNING")], "next": None},
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        content = json.loads(request.content) if request.content else None
        seen.append((request.method, str(request.url), content))
        if request.method == "GET":
            return httpx.Response(200, json=pages.pop(0))
        return httpx.Response(202, json={"accepted": True})

    async with _client(handler) as client:
        await client.send_signal("fulfil/a b", approval, True)
        await client.publish(placed, Order("a", 1), Order("b", 2))
        records = await client.executions(fulfil, ExecutionStatus.RUNNING)
    assert [r.name for r in records] == ["b", "a"]
    assert seen[0] == (
        "POST",
        "http://svc/_eventual/executions/fulfil/a%20b/signals/approval",
        True,
    )
    assert seen[1][2] == [{"id": "a", "quantity": 1}, {"id": "b", "quantity": 2}]
    assert "workflow=fulfil" in seen[2][1]
    assert "status=RUNNING" in seen[2][1]
    assert "cursor=c1" in seen[3][1]


async def test_invalid_execution_id() -> None:
    """An execution id without a workflow part is refused before any request."""
    async with _client(lambda request: httpx.Response(500)) as client:
        with pytest.raises(ValueError, match="workflow/name"):
            await client.execution("nope")


def test_missing_httpx_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without httpx, creating a client fails with the extra to install."""
    monkeypatch.setitem(sys.modules, "httpx", None)
    with pytest.raises(ImportError, match=r"eventual-core\[client\]"):
        ServiceClient("http://svc")


async def test_an_open_client_is_the_default_of_other_tasks() -> None:
    """While a client is open, wf.start() and ev.publish() in unrelated tasks go to its service."""
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.url.path == "/_eventual/executions":
            return httpx.Response(201, json={"id": "fulfil/b"})
        if request.method == "GET":
            return httpx.Response(200, json=_record("SUCCEEDED", result={"id": "b", "quantity": 2}))
        return httpx.Response(202, json={"published": 1})

    async def elsewhere() -> Order:
        handle = await fulfil.start(Order("b", 2), name="b")
        await placed.publish(Order("b", 2))
        return await handle.result()

    async with _client(handler):
        task = asyncio.create_task(elsewhere(), context=contextvars.Context())
        assert await task == Order("b", 2)
    assert seen == [
        ("POST", "/_eventual/executions"),
        ("POST", "/_eventual/events/placed"),
        ("GET", "/_eventual/executions/fulfil/b"),
    ]
    with pytest.raises(RuntimeNotAvailable):
        await asyncio.create_task(elsewhere(), context=contextvars.Context())
