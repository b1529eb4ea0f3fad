"""The system API under /_eventual/: executions, signals, tasks, events, dead letters, auth."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import httpx
import pytest

from eventual import (
    ExecutionStatus,
)
from eventual.codec import JsonValue
from eventual.history import ExecutionRecord, WorkflowStarted
from eventual.spi import DeadLetter, EventEnvelope, TimerRequest
from eventual_engine import (
    BackendClient,
    Engine,
    HttpApp,
    LocalRuntime,
    MemoryBackend,
)

from .system_service import (
    SERVICE,
    start_execution,
    system_client,
    tokens,
)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """A client of the system API of a service running in memory, with a token."""
    async with system_client() as http:
        yield http


async def test_token_is_required(client: httpx.AsyncClient) -> None:
    """Without the bearer token the system API answers 401; the health check stays open."""
    bare = {"authorization": ""}
    response = await client.get("/_eventual/executions", headers=bare)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = await client.get("/_eventual/executions", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    health = await client.get("/_eventual/health", headers=bare)
    assert health.json() == {"status": "ok", "service": "sys"}


async def test_no_token_configured_means_open() -> None:
    """Without HttpOptions.token the system API needs no Authorization header."""
    async with LocalRuntime(SERVICE) as runtime:
        transport = httpx.ASGITransport(app=HttpApp(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.get("/_eventual/executions")).status_code == 200


async def test_start_get_signal_and_wait(client: httpx.AsyncClient) -> None:
    """Start an execution, read it, signal it and long-poll until it ends."""
    id_ = await start_execution(client, "wait_for_go", "a", quantity=2)
    assert id_ == "wait_for_go/a"
    record = (await client.get("/_eventual/executions/wait_for_go/a")).json()
    assert record["status"] == "RUNNING"
    assert record["input"] == {"id": "a", "quantity": 2}
    sent = await client.post("/_eventual/executions/wait_for_go/a/signals/go", json=40)
    assert sent.status_code == 202
    ended = (await client.get("/_eventual/executions/wait_for_go/a", params={"wait": 5})).json()
    assert (ended["status"], ended["result"]) == ("SUCCEEDED", 42)
    history = (await client.get("/_eventual/executions/wait_for_go/a/history")).json()
    types = [e["type"] for e in history["events"]]
    assert types[0] == "WorkflowStarted"
    assert "SignalReceived" in types
    assert types[-1] == "WorkflowSucceeded"


async def test_start_errors(client: httpx.AsyncClient) -> None:
    """Bad input names its field, an unknown workflow is 404, another input for a name is 409."""
    bad = await client.post(
        "/_eventual/executions",
        json={"workflow": "wait_for_go", "input": {"id": "x", "quantity": "1"}},
    )
    assert bad.status_code == 400
    assert bad.json()["detail"]["path"] == "body.input.quantity"
    missing = await client.post("/_eventual/executions", json={"workflow": "nope"})
    assert missing.status_code == 404
    assert "nope" in missing.json()["error"]
    await start_execution(client, "wait_for_go", "same")
    assert (await start_execution(client, "wait_for_go", "same")) == "wait_for_go/same"
    clash = await client.post(
        "/_eventual/executions",
        json={"workflow": "wait_for_go", "input": {"id": "x", "quantity": 9}, "name": "same"},
    )
    assert clash.status_code == 409
    no_body = await client.post("/_eventual/executions", json={"input": 1})
    assert no_body.status_code == 400
    assert no_body.json()["detail"] == {
        "path": "body",
        "problem": 'missing required field "workflow"',
    }


async def test_unknown_execution_is_404(client: httpx.AsyncClient) -> None:
    """Reading, signalling or cancelling an execution that does not exist is a 404."""
    assert (await client.get("/_eventual/executions/wait_for_go/ghost")).status_code == 404
    assert (await client.get("/_eventual/executions/wait_for_go/ghost/history")).status_code == 404
    sent = await client.post("/_eventual/executions/wait_for_go/ghost/signals/go", json=1)
    assert sent.status_code == 404
    assert (await client.post("/_eventual/executions/wait_for_go/ghost/cancel")).status_code == 404


async def test_signal_payload_is_checked(client: httpx.AsyncClient) -> None:
    """A signal payload of the wrong type is a 400; an unknown signal is a 404."""
    await start_execution(client, "wait_for_go", "s")
    bad = await client.post("/_eventual/executions/wait_for_go/s/signals/go", json="x")
    assert bad.status_code == 400
    unknown = await client.post("/_eventual/executions/wait_for_go/s/signals/stop", json=1)
    assert unknown.status_code == 404


async def test_cancel(client: httpx.AsyncClient) -> None:
    """Cancelling a running execution ends it CANCELLED."""
    await start_execution(client, "wait_for_go", "c")
    assert (await client.post("/_eventual/executions/wait_for_go/c/cancel")).status_code == 202
    ended = await client.get("/_eventual/executions/wait_for_go/c", params={"wait": 5})
    assert ended.json()["status"] == "CANCELLED"


async def test_list_filters_and_pages(client: httpx.AsyncClient) -> None:
    """Executions are listed newest first, filtered by workflow and status, page by page."""
    for name in ("p1", "p2", "p3"):
        await start_execution(client, "wait_for_go", name)
    await client.post("/_eventual/executions/wait_for_go/p1/signals/go", json=1)
    await client.get("/_eventual/executions/wait_for_go/p1", params={"wait": 5})
    first = (await client.get("/_eventual/executions", params={"limit": 2})).json()
    assert [e["name"] for e in first["executions"]] == ["p3", "p2"]
    rest = await client.get("/_eventual/executions", params={"limit": 2, "cursor": first["next"]})
    assert [e["name"] for e in rest.json()["executions"]] == ["p1"]
    assert rest.json()["next"] is None
    done = await client.get("/_eventual/executions", params={"status": "succeeded"})
    assert [e["name"] for e in done.json()["executions"]] == ["p1"]
    other = await client.get("/_eventual/executions", params={"workflow": "async_task"})
    assert other.json()["executions"] == []
    bad = await client.get("/_eventual/executions", params={"status": "sleeping"})
    assert bad.status_code == 400
    assert bad.json()["detail"]["path"] == "query.status"
    assert (await client.get("/_eventual/executions", params={"limit": 0})).status_code == 400


@pytest.mark.parametrize("outcome", ["complete", "fail"])
async def test_finish_task_by_token(client: httpx.AsyncClient, outcome: str) -> None:
    """A task that called complete_async() is finished through the system API by its token."""
    tokens.clear()
    await start_execution(client, "async_task", outcome)
    for _ in range(500):
        if tokens:
            break
        await asyncio.sleep(0.01)
    [token] = tokens
    if outcome == "complete":
        body: dict[str, object] = {"token": token, "result": 7}
    else:
        body = {"token": token, "error_type": "Rejected", "message": "no stock"}
    response = await client.post(f"/_eventual/tasks/{outcome}", json=body)
    assert response.status_code == 202
    ended = (
        await client.get(f"/_eventual/executions/async_task/{outcome}", params={"wait": 5})
    ).json()
    if outcome == "complete":
        assert (ended["status"], ended["result"]) == ("SUCCEEDED", 7)
    else:
        assert ended["status"] == "FAILED"
        assert "no stock" in ended["message"]


async def test_bad_task_token(client: httpx.AsyncClient) -> None:
    """A token of the wrong shape, or of an execution that does not exist, is a 400."""
    bad = await client.post("/_eventual/tasks/complete", json={"token": "nonsense"})
    assert bad.status_code == 400
    unknown = await client.post("/_eventual/tasks/fail", json={"token": "w/x|1|1"})
    assert unknown.status_code == 400
    assert "not a valid task token" in unknown.json()["detail"]["problem"]


@pytest.fixture
async def no_bus() -> AsyncIterator[httpx.AsyncClient]:
    """A client of the service on an engine that has no event bus attached."""
    app = HttpApp(Engine(SERVICE, MemoryBackend()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_publish_without_a_bus_is_501(no_bus: httpx.AsyncClient) -> None:
    """Publishing is checked against the event's type, and needs an event bus (else 501)."""
    client = no_bus
    bad = await client.post("/_eventual/events/shipped", json=[{"id": "o"}])
    assert bad.status_code == 400
    assert bad.json()["detail"]["path"] == "body[0]"
    unknown = await client.post("/_eventual/events/lost", json=[])
    assert unknown.status_code == 404
    response = await client.post("/_eventual/events/shipped", json=[{"id": "o", "quantity": 1}])
    assert response.status_code == 501
    assert "eventual-messaging" in response.json()["error"]


async def test_dead_letters_without_a_bus_is_501(no_bus: httpx.AsyncClient) -> None:
    """Dead letters need an event bus; without one the answer says so."""
    client = no_bus
    response = await client.get("/_eventual/dead-letters")
    assert response.status_code == 501
    assert "event bus" in response.json()["error"]
    assert (await client.post("/_eventual/dead-letters/redrive")).status_code == 501


class FakeDelivery:
    """Dead letters kept in a list; redrive removes them."""

    def __init__(self, letters: list[DeadLetter]) -> None:
        self.letters = letters
        self.redriven: list[Sequence[str] | None] = []

    async def deliver_due(self) -> int:
        return 0

    async def next_due(self) -> datetime | None:
        return None

    async def pending(self) -> int:
        return 0

    async def dead_letters(
        self, *, limit: int = 100, after: str | None = None
    ) -> builtins.list[DeadLetter]:
        ids = [letter.id for letter in self.letters]
        start = ids.index(after) + 1 if after is not None else 0
        return self.letters[start : start + limit]

    async def redrive(self, ids: Sequence[str] | None = None) -> int:
        self.redriven.append(ids)
        return len(self.letters) if ids is None else len(ids)


def _letter(id_: str) -> DeadLetter:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    envelope = EventEnvelope(
        id=f"e-{id_}", source="sys", name="shipped", time=when, payload={"id": id_, "quantity": 1}
    )
    return DeadLetter(
        id=id_,
        subscription="audit",
        event=envelope,
        error_type="KeyError",
        message="boom",
        attempts=3,
        failed_at=when,
    )


async def test_dead_letters_and_redrive(client: httpx.AsyncClient) -> None:
    """Dead letters are listed page by page and redriven all at once or by id."""
    delivery = FakeDelivery([_letter("d1"), _letter("d2"), _letter("d3")])
    client.app.engine.subscriptions = delivery  # type: ignore[attr-defined]
    first = (await client.get("/_eventual/dead-letters", params={"limit": 2})).json()
    assert [d["id"] for d in first["dead_letters"]] == ["d1", "d2"]
    assert first["dead_letters"][0]["event"]["payload"] == {"id": "d1", "quantity": 1}
    rest = await client.get("/_eventual/dead-letters", params={"cursor": first["next"]})
    assert [d["id"] for d in rest.json()["dead_letters"]] == ["d3"]
    assert rest.json()["next"] is None
    some = await client.post("/_eventual/dead-letters/redrive", json={"ids": ["d2"]})
    assert some.json() == {"redriven": 1}
    everything = await client.post("/_eventual/dead-letters/redrive")
    assert everything.json() == {"redriven": 3}
    assert delivery.redriven == [["d2"], None]


async def test_manifest(client: httpx.AsyncClient) -> None:
    """The service's manifest is served for tools."""
    manifest = (await client.get("/_eventual/service")).json()
    assert manifest["service"]["name"] == "sys"
    assert [w["name"] for w in manifest["workflows"]] == ["async_task", "logged", "wait_for_go"]


async def test_status_enum_matches_the_listing(client: httpx.AsyncClient) -> None:
    """Every status the engine knows is accepted as a filter."""
    for status in ExecutionStatus:
        response = await client.get("/_eventual/executions", params={"status": status.value})
        assert response.status_code == 200


LONE = '"\\ud800"'  # JSON text escaping a lone surrogate


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        (
            "/_eventual/executions",
            '{"workflow": "wait_for_go", "input": {"id": ' + LONE + ', "quantity": 1}}',
            "body.input.id",
        ),
        ("/_eventual/executions/wait_for_go/a/signals/go", LONE, "body"),
        ("/_eventual/events/shipped", "[{" + LONE + ": 1}]", 'body[0]["\\ud800"]'),
        (
            "/_eventual/tasks/complete",
            '{"token": "a/b|1|1", "result": [' + LONE + "]}",
            "body.result[0]",
        ),
    ],
)
async def test_text_that_cannot_be_stored_is_a_400(
    client: httpx.AsyncClient, path: str, body: str, where: str
) -> None:
    """A lone surrogate anywhere in a system API body is refused at the edge, naming where."""
    await start_execution(client, "wait_for_go", "a")
    response = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["detail"]["path"] == where
    assert "surrogate" in response.json()["detail"]["problem"]


async def test_nesting_past_the_limit_is_a_400(client: httpx.AsyncClient) -> None:
    """A body nested deeper than MAX_DEPTH is refused at the edge, naming where it got too deep."""
    deep = "[" * 70 + "]" * 70
    response = await client.post(
        "/_eventual/executions",
        content='{"workflow": "wait_for_go", "input": ' + deep + "}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail["path"].startswith("body.input[0][0]")
    assert "nested deeper than 64" in detail["problem"]


async def test_names_and_numbers_are_bounded(client: httpx.AsyncClient) -> None:
    """A huge execution name, workflow name, token or position is a 400 naming it, not a 500."""
    huge = "n" * (5 * 1024 * 1024)
    started = await client.post(
        "/_eventual/executions",
        json={"workflow": "wait_for_go", "input": {"id": "a", "quantity": 1}, "name": huge},
    )
    assert started.status_code == 400
    assert started.json()["detail"]["path"] == "body.name"
    assert len(started.text) < 1000  # the name is not echoed back
    unknown = await client.post("/_eventual/executions", json={"workflow": huge, "input": None})
    assert unknown.json()["detail"]["path"] == "body.workflow"
    token = await client.post("/_eventual/tasks/complete", json={"token": huge})
    assert token.json()["detail"]["path"] == "body.token"
    await start_execution(client, "wait_for_go", "b")
    for name, value in (
        ("after", "9" * 5000),
        ("limit", "9" * 5000),
        ("after", "1e3"),
        ("limit", ""),
    ):
        path = (
            "/_eventual/executions/wait_for_go/b/history"
            if name == "after"
            else "/_eventual/executions"
        )
        response = await client.get(path, params={name: value})
        assert response.status_code == 400, (name, value)
        assert response.json()["detail"]["path"] == f"query.{name}"


async def test_an_unknown_cursor_is_a_400(client: httpx.AsyncClient) -> None:
    """A cursor no page gave is a 400 saying so, not a silent first page."""
    for cursor in ("nonsense", "wait_for_go/none", "wait_for_go/"):
        response = await client.get("/_eventual/executions", params={"cursor": cursor})
        assert response.status_code == 400, cursor
        assert response.json()["detail"]["path"] == "query.cursor"
    await start_execution(client, "wait_for_go", "x")
    await start_execution(client, "wait_for_go", "y")
    first = (await client.get("/_eventual/executions", params={"limit": 1})).json()
    page = await client.get("/_eventual/executions", params={"limit": 1, "cursor": first["next"]})
    assert [r["id"] for r in page.json()["executions"]] == ["wait_for_go/x"]


async def test_a_record_that_cannot_be_served_does_not_break_the_listing() -> None:
    """A stored input that cannot be served is left null in a listing and a read; others show."""
    engine = Engine(SERVICE, MemoryBackend())
    app = HttpApp(engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        # Stored by an older version, or by a writer that bypassed today's checks.
        deep: JsonValue = 1
        for _ in range(5000):
            deep = [deep]
        await engine.backend.executions.create(*_stored("wait_for_go/deep", deep))
        await engine.backend.executions.create(*_stored("wait_for_go/text", "\ud800"))
        await start_execution(http, "wait_for_go", "fine")
        listing = await http.get("/_eventual/executions")
        assert listing.status_code == 200
        body = listing.json()
        assert sorted(body["withheld"]) == ["wait_for_go/deep", "wait_for_go/text"]
        inputs = {r["id"]: r["input"] for r in body["executions"]}
        assert inputs == {
            "wait_for_go/fine": {"id": "fine", "quantity": 1},
            "wait_for_go/deep": None,
            "wait_for_go/text": None,
        }
        read = await http.get("/_eventual/executions/wait_for_go/deep")
        assert read.status_code == 200
        assert read.headers["x-eventual-withheld"] == "input, result"


def _stored(
    id_: str, input: JsonValue
) -> tuple[ExecutionRecord, WorkflowStarted, list[TimerRequest]]:
    workflow, _, name = id_.partition("/")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    record = ExecutionRecord(
        id=id_,
        workflow=workflow,
        name=name,
        status=ExecutionStatus.RUNNING,
        input=input,
        input_digest="x",
        started_at=at,
    )
    started = WorkflowStarted(
        timestamp=at, execution_id=id_, workflow=workflow, name=name, input=input
    )
    return record, started, []


async def test_a_signal_to_an_ended_execution_says_it_was_discarded(
    client: httpx.AsyncClient,
) -> None:
    """A signal to an execution that has ended is answered 202 with accepted false and why."""
    await start_execution(client, "wait_for_go", "s")
    path = "/_eventual/executions/wait_for_go/s/signals/go"
    sent = await client.post(path, json=1)
    assert sent.json() == {"accepted": True, "message": None}
    await client.get("/_eventual/executions/wait_for_go/s", params={"wait": 5})
    late = await client.post(path, json=2)
    assert late.status_code == 202
    assert late.json()["accepted"] is False
    assert "has ended (SUCCEEDED)" in late.json()["message"]


async def test_a_backend_client_is_served_without_an_engine() -> None:
    """HttpApp serves a loop-less BackendClient: executions start and read; dead letters 501."""
    backend = MemoryBackend()
    app = HttpApp(BackendClient(SERVICE, backend))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert await start_execution(http, "wait_for_go", "c") == "wait_for_go/c"
        record = (await http.get("/_eventual/executions/wait_for_go/c")).json()
        assert record["status"] == "RUNNING"  # nothing runs it here; a worker elsewhere would
        assert (await http.get("/_eventual/dead-letters")).status_code == 501
    assert await backend.executions.get("wait_for_go/c") is not None
