"""``LocalRuntime`` on the ``postgres`` backend and bus, chosen by name as configuration would."""

from __future__ import annotations

import asyncio

import attrs
import psycopg

from eventual import Service, event, subscription, task, workflow
from eventual_engine import LocalRuntime


@attrs.frozen
class Shipped:
    order: str


shipped = event("Shipped", Shipped)
audited: list[str] = []
heard = asyncio.Event()


@task
async def pack(order: str) -> str:
    return f"packed {order}"


@workflow
async def ship(order: str) -> str:
    packed = await pack(order)
    await shipped.publish(Shipped(order))
    return packed


@subscription(shipped)
async def audit(event: Shipped) -> None:
    audited.append(event.order)
    heard.set()


SERVICE = Service.from_definitions("shop", [pack, ship, shipped, audit])


async def test_a_local_runtime_runs_workflows_and_delivers_events_on_postgres(
    postgres_dsn: str, schema: str
) -> None:
    """backend="postgres" with a DSN runs the workflow there, and its own bus delivers the event."""
    settings: dict[str, object] = {"dsn": postgres_dsn, "postgres_schema": schema}
    async with LocalRuntime(SERVICE, backend="postgres", settings=settings) as rt:
        handle = await rt.start(ship, "o1", name="o1")
        assert await handle.result() == "packed o1"
        await asyncio.wait_for(heard.wait(), timeout=10)
        assert audited == ["o1"]
    async with await psycopg.AsyncConnection.connect(postgres_dsn) as conn:
        cursor = await conn.execute(f"SELECT record FROM {schema}.executions")
        assert len(await cursor.fetchall()) == 1
        cursor = await conn.execute(f"SELECT name FROM {schema}.bus_events")
        assert [name for (name,) in await cursor.fetchall()] == ["Shipped"]
