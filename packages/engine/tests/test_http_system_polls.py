"""The system API's long-polls: an execution's end, its history and its logs, held and capped."""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from eventual.history import ExecutionRecord
from eventual_engine import (
    BackendClient,
    EngineOptions,
    HttpApp,
    HttpOptions,
    LocalRuntime,
    MemoryBackend,
)

from .system_service import (
    SERVICE,
    start_execution,
    system_client,
)


def _held_polls(app: HttpApp) -> int:
    """How many long-polls ``app`` holds now."""
    return app._system._executions._polls


async def _until(condition: Callable[[], bool]) -> None:
    """Yield to the server until ``condition`` holds (failing if it never does)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.005)


def _app(client: httpx.AsyncClient) -> HttpApp:
    app: HttpApp = client.app  # type: ignore[attr-defined]  # set by system_client
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """A client of the system API of a service running in memory, with a token."""
    async with system_client() as http:
        yield http


async def test_long_poll_returns_running_after_the_wait(client: httpx.AsyncClient) -> None:
    """A long-poll on an execution that does not end is held, then answers it still running."""
    await start_execution(client, "wait_for_go", "slow")
    path = "/_eventual/executions/wait_for_go/slow"
    polling = asyncio.create_task(client.get(path, params={"wait": 0.2}))
    await _until(lambda: _held_polls(_app(client)) == 1 or polling.done())
    assert not polling.done()  # held, not answered at once
    response = await polling
    assert response.json()["status"] == "RUNNING"
    assert _held_polls(_app(client)) == 0


async def test_wait_is_capped_at_max_wait() -> None:
    """A wait longer than HttpOptions.max_wait is held for max_wait only; a bad one is a 400."""
    async with LocalRuntime(SERVICE, options=EngineOptions(poll_interval=0.01)) as runtime:
        app = HttpApp(runtime, options=HttpOptions(max_wait=0.2))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await start_execution(client, "wait_for_go", "w")
            path = "/_eventual/executions/wait_for_go/w"
            # The guard only catches a wait held as asked (99 s, forever): it is no measure.
            record = client.get(path, params={"wait": "99"})
            response = await asyncio.wait_for(record, timeout=60)
            assert response.json()["status"] == "RUNNING"
            after = client.get(f"{path}/history", params={"after": 99, "wait": "inf"})
            history = await asyncio.wait_for(after, timeout=60)
            assert history.json()["events"] == []
            for bad in ("-1", "nan", "soon"):
                refused = await client.get(path, params={"wait": bad})
                assert refused.status_code == 400
                assert refused.json()["detail"]["path"] == "query.wait"


async def test_many_held_polls_share_a_budget_of_store_reads() -> None:
    """200 held long-polls share about 100 re-reads a second of the store, not 4 a second each."""
    backend = MemoryBackend()
    reads = {"record": 0, "history": 0}
    store = backend.executions
    get, history = store.get, store.history

    async def counted_get(execution_id: str) -> ExecutionRecord | None:
        reads["record"] += 1
        return await get(execution_id)

    async def counted_history(execution_id: str, after: int = 0) -> builtins.list[Any]:
        reads["history"] += 1
        return await history(execution_id, after)

    store.get = counted_get  # type: ignore[method-assign]  # counting the store's reads
    store.history = counted_history  # type: ignore[method-assign]
    client_of_store = BackendClient(SERVICE, backend)
    app = HttpApp(client_of_store, options=HttpOptions(max_wait=2.0))
    transport = httpx.ASGITransport(app=app)
    limits = httpx.Limits(max_connections=None)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", limits=limits) as http:
        await start_execution(http, "wait_for_go", "held")
        path = "/_eventual/executions/wait_for_go/held"
        polls = [http.get(f"{path}/history", params={"after": 1, "wait": 2}) for _ in range(100)]
        polls += [http.get(path, params={"wait": 2}) for _ in range(100)]
        reads.update(record=0, history=0)
        answers = await asyncio.gather(*polls)
    assert {answer.status_code for answer in answers} == {200}
    # Shared re-reads take about 1,600 reads in these 2 seconds (three a round:
    # record, then history and its record); re-reading every quarter second
    # each, as one poll alone does, takes about 3,500.
    assert reads["history"] + reads["record"] < 2400, reads


async def test_close_answers_held_long_polls(client: httpx.AsyncClient) -> None:
    """HttpApp.close() (a stopping server) answers held long-polls at once, and new ones."""
    await start_execution(client, "wait_for_go", "held")
    path = "/_eventual/executions/wait_for_go/held"
    known = (await client.get(f"{path}/history")).json()["next"]
    record = asyncio.create_task(client.get(path, params={"wait": 5}))
    history = asyncio.create_task(client.get(f"{path}/history", params={"after": known, "wait": 5}))
    await _until(lambda: _held_polls(_app(client)) == 2 or record.done() or history.done())
    assert not record.done()
    assert not history.done()
    _app(client).close()
    assert (await record).json()["status"] == "RUNNING"
    assert (await history).json()["events"] == []
    again = asyncio.create_task(client.get(path, params={"wait": 5}))
    await _until(lambda: again.done() or _held_polls(_app(client)) > 0)
    assert again.done()  # answered without being held
    assert again.result().json()["status"] == "RUNNING"


async def test_history_long_poll_returns_only_new_events(client: httpx.AsyncClient) -> None:
    """``after`` skips known events and ``wait`` holds the request until a new one commits."""
    await start_execution(client, "wait_for_go", "follow")
    path = "/_eventual/executions/wait_for_go/follow/history"
    first = (await client.get(path)).json()
    assert first["status"] == "RUNNING"
    assert first["next"] == len(first["events"]) >= 1
    polling = asyncio.create_task(client.get(path, params={"after": first["next"], "wait": 5}))
    await _until(lambda: _held_polls(_app(client)) == 1 or polling.done())
    assert not polling.done()  # nothing new yet: the request is held
    await client.post("/_eventual/executions/wait_for_go/follow/signals/go", json=1)
    newer = (await polling).json()
    types = [e["type"] for e in newer["events"]]
    assert types[0] == "SignalReceived"
    assert types[-1] == "WorkflowSucceeded"
    assert newer["next"] == first["next"] + len(newer["events"])
    assert newer["status"] == "SUCCEEDED"
    # Nothing past the end: an ended execution answers at once, with no events.
    done = (await client.get(path, params={"after": newer["next"], "wait": 5})).json()
    assert done == {"events": [], "next": newer["next"], "status": "SUCCEEDED"}


async def test_logs_are_served_and_followed(client: httpx.AsyncClient) -> None:
    """The logs endpoint serves kept lines with positions, and holds a follower until more."""
    await start_execution(client, "logged", "l1")
    path = "/_eventual/executions/logged/l1/logs"
    first = (await client.get(path)).json()
    assert [(e["level"], e["message"]) for e in first["entries"]] == [
        ("INFO", "waiting for go on l1")
    ]
    assert first["entries"][0]["execution_id"] == "logged/l1"
    assert first["next"] == first["entries"][0]["position"]
    polling = asyncio.create_task(client.get(path, params={"after": first["next"], "wait": 5}))
    await _until(lambda: _held_polls(_app(client)) == 1 or polling.done())
    assert not polling.done()  # nothing new yet: the request is held
    await client.post("/_eventual/executions/logged/l1/signals/go", json=7)
    newer = (await polling).json()
    assert [e["message"] for e in newer["entries"]] == ["got 7"]
    assert newer["next"] > first["next"]
    done = (await client.get(path, params={"after": newer["next"], "wait": 5})).json()
    assert done == {"entries": [], "next": newer["next"], "status": "SUCCEEDED"}
    assert (await client.get("/_eventual/executions/logged/nope/logs")).status_code == 404


async def test_history_long_poll_times_out_and_checks_after(client: httpx.AsyncClient) -> None:
    """A long-poll with nothing new answers after ``wait``; a bad ``after`` is a 400."""
    await start_execution(client, "wait_for_go", "quiet")
    path = "/_eventual/executions/wait_for_go/quiet/history"
    known = (await client.get(path)).json()["next"]
    quiet = (await client.get(path, params={"after": known, "wait": 0.3})).json()
    assert (quiet["events"], quiet["next"]) == ([], known)
    bad = await client.get(path, params={"after": "-1"})
    assert bad.status_code == 400
    assert bad.json()["detail"]["path"] == "query.after"


async def test_held_long_polls_are_capped() -> None:
    """Past max_held_polls, a long-poll is answered at once with the current state."""
    async with LocalRuntime(SERVICE, options=EngineOptions(poll_interval=0.01)) as runtime:
        app = HttpApp(runtime, options=HttpOptions(max_wait=5, max_held_polls=1))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            await start_execution(http, "wait_for_go", "p")
            path = "/_eventual/executions/wait_for_go/p"
            held = asyncio.create_task(http.get(path, params={"wait": 5}))
            await _until(lambda: _held_polls(app) == 1 or held.done())
            assert not held.done()
            history = await http.get(f"{path}/history", params={"after": 5, "wait": 5})
            record = await http.get(path, params={"wait": 5})
            # Both were answered while the first poll is still held: neither was held.
            assert not held.done()
            assert history.json()["status"] == record.json()["status"] == "RUNNING"
            app.close()
            assert (await held).status_code == 200


async def test_history_reads_from_after_only(client: httpx.AsyncClient) -> None:
    """A history read with ``after`` returns the events from there and the history's length."""
    await start_execution(client, "wait_for_go", "h")
    path = "/_eventual/executions/wait_for_go/h/history"
    whole = (await client.get(path)).json()
    tail = (await client.get(path, params={"after": 1})).json()
    assert tail["events"] == whole["events"][1:]
    assert tail["next"] == whole["next"]
    past = (await client.get(path, params={"after": 100})).json()
    assert (past["events"], past["next"]) == ([], whole["next"])
