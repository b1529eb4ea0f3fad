"""SyncServiceClient against a scripted server: the typed calls of ServiceClient, blocking."""

from __future__ import annotations

import json
from collections.abc import Callable

import attrs
import httpx
import pytest

from eventual import (
    DefinitionNotFound,
    ExecutionAlreadyExists,
    ExecutionStatus,
    HttpError,
    SyncServiceClient,
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


def _client(handler: Handler, token: str | None = "tok") -> SyncServiceClient:
    return SyncServiceClient("http://svc/", token=token, transport=httpx.MockTransport(handler))


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


def test_call_posts_the_encoded_input_and_decodes_the_output() -> None:
    """call() posts the input to /_rpc/{name} without the token and decodes the output."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[json.loads(request.content)["quantity"]])

    with _client(handler) as client:
        assert client.call(place, Order("a", 3)) == [3]
    [request] = seen
    assert (request.method, request.url.path) == ("POST", "/_rpc/place")
    assert "authorization" not in request.headers


def test_start_signal_and_result_long_poll() -> None:
    """start() posts the input, signal() the payload, result() long-polls until the end."""
    seen: list[tuple[str, str, object]] = []
    answers = [_record("RUNNING"), _record("SUCCEEDED", result={"id": "a", "quantity": 1})]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer tok"
        body = json.loads(request.content) if request.content else request.url.params.get("wait")
        seen.append((request.method, request.url.path, body))
        if request.url.path == "/_eventual/executions":
            return httpx.Response(201, json={"id": "fulfil/a"})
        if request.method == "POST":
            return httpx.Response(202, json={})
        return httpx.Response(200, json=answers.pop(0))

    with _client(handler) as client:
        handle = client.start(fulfil, Order("a", 1), name="a")
        handle.signal(approval, True)
        assert handle.result() == Order("a", 1)
    assert seen == [
        (
            "POST",
            "/_eventual/executions",
            {"workflow": "fulfil", "input": {"id": "a", "quantity": 1}, "name": "a"},
        ),
        ("POST", "/_eventual/executions/fulfil/a/signals/approval", True),
        ("GET", "/_eventual/executions/fulfil/a", "20.0"),
        ("GET", "/_eventual/executions/fulfil/a", "20.0"),
    ]


def test_result_raises_for_a_failed_execution_and_on_timeout() -> None:
    """A FAILED execution raises WorkflowFailed; one still running past timeout= raises."""
    status = ["FAILED"]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_record(status[0], error_type="KeyError", message="k"))

    with _client(handler) as client:
        handle = client.execution("fulfil/a")
        with pytest.raises(WorkflowFailed) as caught:
            handle.result()
        assert handle.status() is ExecutionStatus.FAILED
        status[0] = "RUNNING"
        with pytest.raises(TimeoutError):
            handle.result(timeout=0.1)
    assert (caught.value.error_type, caught.value.message) == ("KeyError", "k")


def test_publish_and_errors() -> None:
    """publish() posts the payloads; error statuses raise the same errors as ServiceClient's."""
    seen: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/_eventual/events/placed":
            seen.append(json.loads(request.content))
            return httpx.Response(202, json={"published": 2})
        if request.url.path == "/_rpc/place":
            return httpx.Response(418, json={"error": "teapot", "detail": None})
        if request.url.path == "/_eventual/executions":
            return httpx.Response(409, json={"error": "taken", "detail": None})
        return httpx.Response(404, json={"error": "no event", "detail": None})

    with _client(handler) as client:
        client.publish(placed, Order("a", 1), Order("b", 2))
        with pytest.raises(HttpError) as teapot:
            client.call(place, Order("a", 1))
        with pytest.raises(ExecutionAlreadyExists):
            client.start(fulfil, Order("a", 1), name="a")
        with pytest.raises(DefinitionNotFound):
            client.publish(event("other", int), 1)
    assert seen == [[{"id": "a", "quantity": 1}, {"id": "b", "quantity": 2}]]
    assert (teapot.value.status, teapot.value.message) == (418, "teapot")


class _KeepsFirstAnswers:
    """A server that answers each Idempotency-Key once, then loses the first ``drops`` answers."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self.keys: list[str | None] = []
        self.runs: list[str] = []
        self._answers: dict[str | None, httpx.Response] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("idempotency-key")
        self.keys.append(key)
        if key is None or key not in self._answers:
            self.runs.append(request.url.path)
            if request.url.path == "/_eventual/executions":
                answer = httpx.Response(201, json={"id": f"fulfil/{len(self.runs)}"})
            else:
                answer = httpx.Response(200, json=[len(self.runs)])
            self._answers[key] = answer
        if self.drops:
            self.drops -= 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return self._answers[key]


def test_a_call_whose_answer_was_lost_is_retried_under_one_key() -> None:
    """call() and start() send a lost request again with its key and get the first answer."""
    server = _KeepsFirstAnswers(drops=2)
    with _client(server) as client:
        assert client.call(place, Order("a", 1)) == [1]
        assert len(server.keys) == 3
        assert server.keys[0] is not None
        assert len(set(server.keys)) == 1
        server.drops = 1
        handle = client.start(fulfil, Order("b", 1), name="b")
    assert handle.id == "fulfil/2"
    assert server.runs == ["/_rpc/place", "/_eventual/executions"]
    assert len(set(server.keys[3:])) == 1
    assert server.keys[3] != server.keys[0]


def test_retries_give_up_after_the_last_try() -> None:
    """With retries=0 a lost answer raises at once; a negative count is refused."""
    server = _KeepsFirstAnswers(drops=1)
    client = SyncServiceClient("http://svc", transport=httpx.MockTransport(server), retries=0)
    with client, pytest.raises(httpx.ReadError):
        client.call(place, Order("a", 1))
    assert len(server.keys) == 1
    with pytest.raises(ValueError, match="retries must be 0 or more, got -1"):
        SyncServiceClient("http://svc", retries=-1)


def test_a_start_still_being_answered_is_asked_again() -> None:
    """A 409 with Retry-After (the first try is still running) is retried under the same key."""
    keys: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("idempotency-key"))
        if len(keys) == 1:
            return httpx.Response(409, headers={"retry-after": "1"}, json={"error": "in flight"})
        return httpx.Response(201, json={"id": "fulfil/a"})

    with _client(handler) as client:
        assert client.start(fulfil, Order("a", 1), name="a").id == "fulfil/a"
    assert len(keys) == 2
    assert keys[0] == keys[1]


def test_executions_follow_pages_up_to_the_limit() -> None:
    """executions() asks page after page with the cursor given, and stops at the limit."""
    asked: list[dict[str, str]] = []
    names = ["e", "d", "c", "b", "a"]

    def handler(request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        asked.append(query)
        start = names.index(query["cursor"]) if "cursor" in query else 0
        page = names[start : start + min(2, int(query["limit"]))]
        following = start + len(page)
        next_ = names[following] if following < len(names) else None
        return httpx.Response(
            200,
            json={
                "executions": [_record("RUNNING", name=n, id=f"fulfil/{n}") for n in page],
                "next": next_,
            },
        )

    with _client(handler) as client:
        assert [r.name for r in client.executions(fulfil, ExecutionStatus.RUNNING)] == names
        first_pages = list(asked)
        asked.clear()
        assert [r.name for r in client.executions(limit=3)] == ["e", "d", "c"]
    assert first_pages == [
        {"workflow": "fulfil", "status": "RUNNING", "limit": "1000"},
        {"workflow": "fulfil", "status": "RUNNING", "cursor": "c", "limit": "1000"},
        {"workflow": "fulfil", "status": "RUNNING", "cursor": "a", "limit": "1000"},
    ]
    assert asked == [{"limit": "3"}, {"cursor": "c", "limit": "1"}]
