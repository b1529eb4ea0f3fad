"""Schedules on the postgres backend: a cron schedule fires, a pause holds, across processes.

The scheduler is an ordinary execution driven by ordinary client calls, so it
runs on any backend. The first process runs on a manual clock set hours in the
past, to cross fire times without waiting for them; the second is a
``LocalRuntime`` on the wall clock, on the same schema, as ``eventual dev
--backend postgres`` would start it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from eventual import Schedule, Service, ServiceClient, workflow
from eventual.spi import ExecutionFilter
from eventual_engine import Engine, HttpApp, LocalRuntime, ManualClock, sync_schedules
from eventual_postgres import PostgresBackend


@workflow(schedule=Schedule.cron("0 * * * *"))
async def hourly() -> None:
    """Runs at the top of every hour."""


SERVICE = Service.from_definitions("reports", [hourly])


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _run_name(at: datetime) -> str:
    return f"{at:%Y%m%dT%H%M%SZ}"


async def _runs(client: Engine | LocalRuntime) -> set[str]:
    engine = client if isinstance(client, Engine) else client.engine
    page = await engine.executions(ExecutionFilter(workflow="hourly"))
    return {record.id.split("/", 1)[1] for record in page.executions}


async def test_a_cron_schedule_fires_and_a_pause_holds_on_postgres(
    postgres_dsn: str, schema: str
) -> None:
    """The cron schedule starts its run on the hour; paused, it starts none, even restarted."""
    top = _hour(datetime.now(UTC))
    earlier = top - timedelta(hours=3)
    engine = Engine(
        SERVICE,
        PostgresBackend(postgres_dsn, schema=schema, pool_size=4),
        clock=ManualClock(earlier + timedelta(minutes=10)),
    )
    await engine.backend.open()
    try:
        await sync_schedules(engine)
        await engine.run_until_idle()
        await engine.advance_to(earlier + timedelta(hours=1, minutes=10))
        assert await _runs(engine) == {_run_name(earlier + timedelta(hours=1))}
        transport = httpx.ASGITransport(app=HttpApp(engine))
        async with ServiceClient("http://127.0.0.1", transport=transport) as client:
            await client.pause_schedule("hourly")
        await engine.run_until_idle()
        await engine.advance_to(earlier + timedelta(hours=2, minutes=10))
        assert await _runs(engine) == {_run_name(earlier + timedelta(hours=1))}
    finally:
        await engine.stop(grace=0.0)
        await engine.backend.close()

    settings: dict[str, object] = {"dsn": postgres_dsn, "postgres_schema": schema}
    async with LocalRuntime(SERVICE, backend="postgres", settings=settings) as rt:
        transport = httpx.ASGITransport(app=HttpApp(rt))
        async with ServiceClient("http://127.0.0.1", transport=transport) as client:
            (info,) = await client.schedules()
            assert info.paused
            assert info.next_run is None
            assert await _runs(rt) == {_run_name(earlier + timedelta(hours=1))}
            await client.resume_schedule("hourly")
            # Resumed, the missed fire times are caught up once: the latest one runs.
            async with asyncio.timeout(30):
                while len(await _runs(rt)) < 2:
                    await rt.engine.wait_for_progress(
                        f"hourly/{_run_name(_hour(datetime.now(UTC)))}", 0.05
                    )
            latest = _hour(datetime.now(UTC))
            assert await _runs(rt) - {_run_name(earlier + timedelta(hours=1))} <= {
                _run_name(top),
                _run_name(latest),
            }
            (info,) = await client.schedules()
            assert not info.paused
            assert info.next_run == latest + timedelta(hours=1)
