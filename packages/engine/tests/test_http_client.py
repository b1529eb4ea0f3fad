"""ServiceClient against a real HttpApp: typed commands, handles, signals, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

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
    Service,
    ServiceClient,
    SyncServiceClient,
    ValidationError,
    WorkflowFailed,
    command,
    event,
    signal,
    workflow,
)
from eventual.spi import ExecutionFilter
from eventual_engine import Engine, EngineOptions, HttpApp, HttpOptions, LocalRuntime, MemoryBackend


@attrs.frozen
class Order:
    id: str
    quantity: int


approval = signal("approval", bool)
placed = event("placed", Order)


@workflow
async def fulfil(order: Order) -> str:
    if order.quantity < 0:
        raise ValueError("negative quantity")
    return "shipped" if await approval.expect() else "rejected"


@command
async def place(order: Order) -> str:
    return (await fulfil.start(order, name=order.id)).id


@command
async def version() -> str:
    return "1"


counted: list[int] = []


@command
async def count(n: int) -> int:
    counted.append(n)
    return len(counted)


SERVICE = Service.from_definitions("shop", [approval, placed, fulfil, place, version, count])


@pytest.fixture
async def client() -> AsyncIterator[ServiceClient]:
    """A ServiceClient of the shop service running in memory, over the ASGI transport."""
    async with LocalRuntime(SERVICE, options=EngineOptions(poll_interval=0.01)) as runtime:
        app = HttpApp(runtime, options=HttpOptions(token="tok"))
        transport = httpx.ASGITransport(app=app)
        async with ServiceClient("http://shop", token="tok", transport=transport) as service:
            yield service


async def test_call_start_signal_result(client: ServiceClient) -> None:
    """A command call is typed by the command; its execution is signalled and its result read."""
    execution_id = await client.call(place, Order("o1", 2))
    assert execution_id == "fulfil/o1"
    handle = await client.execution(execution_id)
    assert await handle.status() is ExecutionStatus.RUNNING
    await handle.signal(approval, True)
    assert await asyncio.wait_for(handle.result(), 10) == "shipped"
    history = await handle.history()
    assert history[0].type == "WorkflowStarted"
    assert history[-1].type == "WorkflowSucceeded"


async def test_command_without_input(client: ServiceClient) -> None:
    """A command without input is called with None."""
    assert await client.call(version, None) == "1"


async def test_start_and_send_signal(client: ServiceClient) -> None:
    """client.start returns a typed handle; client.send_signal reaches the execution."""
    handle = await client.start(fulfil, Order("o2", 1), name="o2")
    assert handle.id == "fulfil/o2"
    await client.send_signal(handle.id, approval, False)
    assert await asyncio.wait_for(handle.result(), 10) == "rejected"
    again = await client.start(fulfil, Order("o2", 1), name="o2")
    assert again == handle
    with pytest.raises(ExecutionAlreadyExists):
        await client.start(fulfil, Order("o2", 5), name="o2")


async def test_failed_execution_raises_workflow_failed(client: ServiceClient) -> None:
    """result() raises WorkflowFailed with the error's type and message."""
    handle = await client.start(fulfil, Order("bad", -1))
    with pytest.raises(WorkflowFailed) as caught:
        await asyncio.wait_for(handle.result(), 10)
    assert caught.value.error_type == "ValueError"
    assert caught.value.message == "negative quantity"


async def test_cancel_and_list(client: ServiceClient) -> None:
    """A cancelled execution ends CANCELLED and is listed with the status filter."""
    handle = await client.start(fulfil, Order("c", 1), name="c")
    await client.start(fulfil, Order("d", 1), name="d")
    await handle.cancel()
    with pytest.raises(WorkflowFailed):
        await asyncio.wait_for(handle.result(), 10)
    cancelled = await client.executions(status=ExecutionStatus.CANCELLED)
    assert [r.id for r in cancelled] == ["fulfil/c"]
    everything = await client.executions(fulfil)
    assert [r.name for r in everything] == ["d", "c"]
    assert [r.name for r in await client.executions(limit=1)] == ["d"]


async def test_errors_are_mapped(client: ServiceClient) -> None:
    """Unknown executions, bad input, missing bus and HTTP errors raise eventual's errors."""
    with pytest.raises(ExecutionNotFound):
        await client.execution("fulfil/nope")
    with pytest.raises(ValidationError, match=r"input\.quantity"):
        await client.call(place, Order("o", "x"))  # type: ignore[arg-type]


async def test_publish_without_an_event_bus() -> None:
    """Publishing to a service that runs without an event bus raises RuntimeNotAvailable."""
    app = HttpApp(Engine(SERVICE, MemoryBackend()))
    transport = httpx.ASGITransport(app=app)
    async with ServiceClient("http://shop", transport=transport) as client:
        with pytest.raises(RuntimeNotAvailable, match="event bus"):
            await client.publish(placed, Order("p", 1))


async def test_wrong_token_is_an_http_error() -> None:
    """A client with the wrong token gets HttpError 401 from the system API."""
    async with LocalRuntime(SERVICE) as runtime:
        app = HttpApp(runtime, options=HttpOptions(token="tok"))
        transport = httpx.ASGITransport(app=app)
        async with ServiceClient("http://shop", token="bad", transport=transport) as client:
            with pytest.raises(HttpError) as caught:
                await client.executions()
    assert caught.value.status == 401


async def test_input_checked_before_sending(client: ServiceClient) -> None:
    """A workflow input that does not fit its type fails in the client, naming the field."""
    with pytest.raises(ValidationError):
        await client.start(fulfil, Order("x", "1"))  # type: ignore[arg-type]


async def test_result_when_the_server_caps_waits_below_the_clients() -> None:
    """result() still arrives from a server whose max_wait is shorter than the client's poll."""
    async with LocalRuntime(SERVICE, options=EngineOptions(poll_interval=0.01)) as runtime:
        app = HttpApp(runtime, options=HttpOptions(max_wait=0.2))
        transport = _PollCounting(app=app)
        async with ServiceClient("http://shop", transport=transport) as client:
            handle = await client.start(fulfil, Order("short", 1))
            waiting = asyncio.create_task(handle.result())
            waiting.add_done_callback(lambda _: transport.changed.set())
            while len(transport.answered) < 2 and not waiting.done():
                # Until two capped long-polls were answered RUNNING, or result() gave up.
                transport.changed.clear()
                await asyncio.wait_for(transport.changed.wait(), 30)
            assert set(transport.answered) == {"RUNNING"}
            assert not waiting.done()
            await handle.signal(approval, True)
            assert await asyncio.wait_for(waiting, 10) == "shipped"


class _PollCounting(httpx.ASGITransport):
    """An in-process transport that notes the status of each long-poll the server answered."""

    def __init__(self, app: HttpApp) -> None:
        super().__init__(app=app)
        self.answered: list[str] = []
        self.changed = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.method == "GET" and "wait" in request.url.params:
            await response.aread()
            self.answered.append(str(response.json().get("status")))
            self.changed.set()
        return response


async def test_result_backs_off_when_long_polls_are_not_held() -> None:
    """A server that answers long-polls at once (e.g. stopping) does not get a busy loop."""
    asked: list[httpx.Request] = []
    running = {
        "id": "fulfil/x",
        "workflow": "fulfil",
        "name": "x",
        "status": "RUNNING",
        "input": {"id": "x", "quantity": 1},
        "input_digest": "d",
        "parent_id": None,
        "started_at": "2026-01-01T00:00:00Z",
        "ended_at": None,
        "result": None,
        "error_type": None,
        "message": None,
    }

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, json=running)

    transport = httpx.MockTransport(answer)
    async with ServiceClient("http://shop", transport=transport) as client:
        handle = await client.execution("fulfil/x")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(handle.result(), 1.0)
    assert 3 <= len(asked) <= 12


async def test_publish_of_an_unknown_event_is_definition_not_found() -> None:
    """Publishing an event the service does not define raises DefinitionNotFound."""
    other = event("other", Order)
    app = HttpApp(Engine(SERVICE, MemoryBackend()))
    transport = httpx.ASGITransport(app=app)
    async with ServiceClient("http://shop", transport=transport) as client:
        with pytest.raises(DefinitionNotFound, match="other"):
            await client.publish(other, Order("p", 1))


class _DropsAnswers(httpx.AsyncBaseTransport):
    """Hands requests to the app, then loses the first ``drops`` answers (a reset connection)."""

    def __init__(self, app: HttpApp, drops: int) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self.drops = drops
        self.keys: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("idempotency-key"))
        response = await self._inner.handle_async_request(request)
        if self.drops:
            self.drops -= 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


async def test_a_call_whose_answer_was_lost_is_retried_once_under_one_key() -> None:
    """call() and start() retry a lost answer with the same Idempotency-Key; nothing runs twice."""
    async with LocalRuntime(SERVICE, options=EngineOptions(poll_interval=0.01)) as runtime:
        transport = _DropsAnswers(HttpApp(runtime), drops=2)
        async with ServiceClient("http://shop", transport=transport) as service:
            assert await service.call(place, Order("r1", 1)) == "fulfil/r1"
            assert len(transport.keys) == 3
            assert transport.keys[0] is not None
            assert len(set(transport.keys)) == 1
            transport.drops = 1
            handle = await service.start(fulfil, Order("r2", 1))
            assert len(set(transport.keys[3:])) == 1
            assert transport.keys[3] != transport.keys[0]
        records = await runtime.engine.executions(ExecutionFilter())
        assert sorted(r.id for r in records.executions) == sorted(["fulfil/r1", handle.id])
        transport.drops = 3
        async with ServiceClient("http://shop", transport=transport, retries=2) as service:
            with pytest.raises(httpx.ReadError):
                await service.call(version, None)


class _SyncDropsAnswers(httpx.BaseTransport):
    """A blocking client's way to an app served on another thread's event loop, losing answers.

    Each request runs on ``loop`` (where the runtime lives); the first ``drops``
    answers are thrown away after the app gave them, as a reset connection does.
    """

    def __init__(self, app: HttpApp, loop: asyncio.AbstractEventLoop, drops: int) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._loop = loop
        self.drops = drops
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("idempotency-key"))
        content = request.read()

        async def answer() -> httpx.Response:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=content
            )
            response = await self._inner.handle_async_request(forwarded)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        response = asyncio.run_coroutine_threadsafe(answer(), self._loop).result()
        if self.drops:
            self.drops -= 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


async def test_a_blocking_call_whose_answer_was_lost_runs_once() -> None:
    """SyncServiceClient retries a lost call or start under one key; the service runs it once."""
    counted.clear()
    async with LocalRuntime(SERVICE, options=EngineOptions(poll_interval=0.01)) as runtime:
        loop = asyncio.get_running_loop()
        transport = _SyncDropsAnswers(HttpApp(runtime), loop, drops=2)

        def drive() -> tuple[int, str]:
            with SyncServiceClient("http://shop", transport=transport) as client:
                answered = client.call(count, 7)
                transport.drops = 1
                return answered, client.start(fulfil, Order("s1", 1), name="s1").id

        assert await asyncio.to_thread(drive) == (1, "fulfil/s1")
        assert counted == [7]
        assert len(transport.keys) == 5
        assert len(set(transport.keys[:3])) == 1
        assert len(set(transport.keys[3:])) == 1
        assert transport.keys[0] != transport.keys[3]
        records = await runtime.engine.executions(ExecutionFilter())
        assert [r.id for r in records.executions] == ["fulfil/s1"]
