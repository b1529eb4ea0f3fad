"""Idempotency-Key: retried commands and starts get the first answer and run nothing again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import attrs
import httpx
import pytest

from eventual import HttpError, Service, command, workflow
from eventual.spi import Backend
from eventual_engine import Engine, HttpApp, HttpOptions, ManualClock, MemoryBackend
from eventual_engine._sqlite import SqliteBackend

runs: list[str] = []
gates: dict[str, asyncio.Event] = {}  # fresh per test, on the test's loop: "slow", "entered"


@attrs.frozen
class Order:
    id: str
    quantity: int


@workflow
async def ship(order: Order) -> str:
    return order.id


@command
async def place(order: Order) -> str:
    """Record a run and start a shipment under a new name each time."""
    runs.append(order.id)
    handle = await ship.start(order)
    return handle.id


@command(path="/orders/{id}/refund", method="POST")
async def refund(order: Order) -> int:
    """Refuse refunds, after recording the attempt."""
    runs.append(f"refund {order.id}")
    raise HttpError(402, "refunds need a card")


@command
async def slow(order: Order) -> str:
    """Wait for the gate before answering."""
    runs.append(order.id)
    gates["entered"].set()
    await gates["slow"].wait()
    return "done"


SERVICE = Service.from_definitions("shop", [ship, place, refund, slow])
JSON = {"content-type": "application/json"}

Serve = Callable[[Backend], Awaitable[httpx.AsyncClient]]


@pytest.fixture(autouse=True)
async def _reset() -> None:
    runs.clear()
    gates["slow"] = asyncio.Event()
    gates["entered"] = asyncio.Event()


@pytest.fixture
async def serve(clock: ManualClock) -> AsyncIterator[Serve]:
    """Serve the shop over a backend, on the test's manual clock."""
    clients: list[httpx.AsyncClient] = []

    async def build(backend: Backend) -> httpx.AsyncClient:
        await backend.open()
        app = HttpApp(Engine(SERVICE, backend, clock=clock))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


async def _post(client: httpx.AsyncClient, path: str, body: object, key: str) -> httpx.Response:
    headers = {**JSON, "idempotency-key": key}
    return await client.post(path, content=json.dumps(body), headers=headers)


ORDER = {"id": "o1", "quantity": 2}


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each backend that serves HTTP locally: in memory and the SQLite file."""
    if request.param == "memory":
        return MemoryBackend()
    return SqliteBackend(tmp_path / "shop.db")


async def test_a_retry_gets_the_first_answer_and_runs_nothing(
    serve: Serve, backend: Backend
) -> None:
    """The same request with the same key is answered from the first run, marked as replayed."""
    client = await serve(backend)
    first = await _post(client, "/_rpc/place", ORDER, "k-1")
    again = await _post(client, "/_rpc/place", {"quantity": 2, "id": "o1"}, "k-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert runs == ["o1"]
    other = await _post(client, "/_rpc/place", ORDER, "k-2")
    assert other.json() != first.json()
    assert runs == ["o1", "o1"]
    unkeyed = await client.post("/_rpc/place", content=json.dumps(ORDER), headers=JSON)
    assert unkeyed.status_code == 200
    assert runs == ["o1", "o1", "o1"]
    await backend.close()


async def test_another_request_with_a_used_key_is_refused(serve: Serve, backend: Backend) -> None:
    """Another body, or another command, under a key already used answers 422 and runs nothing."""
    client = await serve(backend)
    assert (await _post(client, "/_rpc/place", ORDER, "k")).status_code == 200
    changed = await _post(client, "/_rpc/place", {"id": "o1", "quantity": 3}, "k")
    elsewhere = await _post(client, "/orders/o1/refund", {"quantity": 2}, "k")
    for refused in (changed, elsewhere):
        assert refused.status_code == 422
        assert "Idempotency-Key 'k' was used for another request" in refused.json()["error"]
        assert refused.json()["detail"] == {"field": "header.idempotency-key"}
    assert runs == ["o1"]
    await backend.close()


async def test_errors_are_answered_again(serve: Serve, backend: Backend) -> None:
    """A command that failed is not run again by a retry: the retry gets the same error."""
    client = await serve(backend)
    first = await _post(client, "/orders/o1/refund", {"quantity": 2}, "r")
    again = await _post(client, "/orders/o1/refund", {"quantity": 2}, "r")
    assert first.status_code == again.status_code == 402
    assert again.json()["error"] == first.json()["error"] == "refunds need a card"
    assert runs == ["refund o1"]
    await backend.close()


async def test_keys_expire_after_the_retention(
    serve: Serve, backend: Backend, clock: ManualClock
) -> None:
    """After 24 hours (on the engine's clock) a key is forgotten and a request runs again."""
    client = await serve(backend)
    await _post(client, "/_rpc/place", ORDER, "k")
    clock.advance(timedelta(hours=23, minutes=59))
    assert (await _post(client, "/_rpc/place", ORDER, "k")).headers["idempotent-replayed"]
    assert runs == ["o1"]
    clock.advance(timedelta(minutes=1))
    later = await _post(client, "/_rpc/place", {"id": "o1", "quantity": 5}, "k")
    assert later.status_code == 200
    assert "idempotent-replayed" not in later.headers
    assert runs == ["o1", "o1"]
    await backend.close()


async def test_a_retry_while_the_first_runs_gets_409(serve: Serve, backend: Backend) -> None:
    """A retry arriving before the first request is answered gets 409 with Retry-After."""
    client = await serve(backend)
    first = asyncio.create_task(_post(client, "/_rpc/slow", ORDER, "s"))
    await gates["entered"].wait()
    busy = await _post(client, "/_rpc/slow", ORDER, "s")
    assert busy.status_code == 409
    assert busy.headers["retry-after"] == "1"
    assert "still being answered" in busy.json()["error"]
    gates["slow"].set()
    assert (await first).json() == "done"
    assert (await _post(client, "/_rpc/slow", ORDER, "s")).json() == "done"
    assert runs == ["o1"]
    await backend.close()


async def test_a_retried_start_starts_one_execution(serve: Serve, backend: Backend) -> None:
    """POST /_eventual/executions with a key starts one execution however often it is sent."""
    client = await serve(backend)
    body = {"workflow": "ship", "input": ORDER}
    first = await _post(client, "/_eventual/executions", body, "start-1")
    again = await _post(client, "/_eventual/executions", body, "start-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    listed = await client.get("/_eventual/executions")
    assert [e["id"] for e in listed.json()["executions"]] == [first.json()["id"]]
    await backend.close()


async def test_an_invalid_key_is_refused(serve: Serve) -> None:
    """An empty, overlong or non-ASCII key answers 400 naming the header, and runs nothing."""
    client = await serve(MemoryBackend())
    for key in (b"", b"x" * 256, "clé".encode(), b"a b"):
        headers = {b"content-type": b"application/json", b"idempotency-key": key}
        refused = await client.post("/_rpc/place", content=json.dumps(ORDER), headers=headers)
        assert refused.status_code == 400, key
        assert refused.json()["detail"] == {"field": "header.idempotency-key"}
    assert runs == []


async def test_keys_outlive_a_restart_on_sqlite(serve: Serve, tmp_path: Path) -> None:
    """On SQLite, a retry sent to a restarted server is still answered from the first run."""
    first_backend = SqliteBackend(tmp_path / "shop.db")
    first = await _post(await serve(first_backend), "/_rpc/place", ORDER, "k")
    await first_backend.close()
    second_backend = SqliteBackend(tmp_path / "shop.db")
    again = await _post(await serve(second_backend), "/_rpc/place", ORDER, "k")
    assert again.json() == first.json()
    assert runs == ["o1"]
    await second_backend.close()


def test_retention_and_hold_must_be_positive() -> None:
    """HttpOptions refuses a retention or hold that is not positive, naming it."""
    with pytest.raises(ValueError, match="idempotency_retention"):
        HttpOptions(idempotency_retention=timedelta(0))
    with pytest.raises(ValueError, match="idempotency_hold"):
        HttpOptions(idempotency_hold=timedelta(seconds=-1))
