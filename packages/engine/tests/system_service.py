"""The service the system API's tests run, and how they reach it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import attrs
import httpx

from eventual import (
    Service,
    complete_async,
    event,
    logger,
    signal,
    task,
    task_info,
    workflow,
)
from eventual_engine import (
    EngineOptions,
    HttpApp,
    HttpOptions,
    LocalRuntime,
)

TOKEN = "s3cret"
AUTH = {"authorization": f"Bearer {TOKEN}"}
tokens: list[str] = []


@attrs.frozen
class Order:
    id: str
    quantity: int


go = signal("go", int)
shipped = event("shipped", Order)


@task
async def later(order: Order) -> int:
    tokens.append(task_info().token)
    complete_async()


@workflow
async def wait_for_go(order: Order) -> int:
    return order.quantity + await go.expect()


@workflow
async def logged(order: Order) -> int:
    logger.info("waiting for go on %s", order.id)
    got = await go.expect()
    logger.warning("got %d", got)
    return got


@workflow
async def async_task(order: Order) -> int:
    return await later(order)


SERVICE = Service.from_definitions("sys", [go, shipped, later, wait_for_go, async_task, logged])


@contextlib.asynccontextmanager
async def system_client() -> AsyncIterator[httpx.AsyncClient]:
    """A client of the system API of SERVICE running in memory, with a token.

    The client's ``app`` attribute is the ``HttpApp``, for tests that close it.
    """
    async with LocalRuntime(SERVICE, options=EngineOptions(poll_interval=0.01)) as runtime:
        app = HttpApp(runtime, options=HttpOptions(token=TOKEN, max_wait=5))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=AUTH
        ) as http:
            http.app = app  # type: ignore[attr-defined]
            yield http


async def start_execution(
    client: httpx.AsyncClient, workflow: str, name: str, quantity: int = 1
) -> str:
    """Start ``workflow`` named ``name`` on an order of ``quantity``; return its id."""
    response = await client.post(
        "/_eventual/executions",
        json={"workflow": workflow, "input": {"id": name, "quantity": quantity}, "name": name},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])
