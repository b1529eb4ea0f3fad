"""The system API's schedules, through ServiceClient and plain HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from eventual import (
    DefinitionNotFound,
    ExecutionStatus,
    HttpError,
    Schedule,
    ScheduleInfo,
    Service,
    ServiceClient,
    workflow,
)
from eventual.codec import JsonValue
from eventual_engine import Engine, HttpApp, ManualClock, MemoryBackend, sync_schedules

from .conftest import EngineFactory

START = datetime(2026, 1, 1, tzinfo=UTC)


@workflow(schedule=Schedule.every(timedelta(hours=1), overlap="buffer_one", catch_up="skip"))
async def hourly() -> None:
    """Runs every hour."""


@workflow(schedule=Schedule.cron("0 9 * * MON-FRI", tz="Europe/Paris"))
async def morning() -> None:
    """Runs on weekday mornings."""


@workflow
async def plain(n: int) -> int:
    """Not scheduled."""
    return n


SERVICE = Service.from_definitions("timed", [hourly, morning, plain])


class Served:
    """An engine on a manual clock, its schedules started, served over HTTP."""

    def __init__(self, engine: Engine, http: httpx.AsyncClient, client: ServiceClient) -> None:
        self.engine = engine
        self.http = http
        self.client = client

    async def advance(self, delta: timedelta) -> None:
        await self.engine.advance_to(self.engine.now() + delta)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """The service on the in-memory backend at START, with its schedulers running."""
    engine = Engine(SERVICE, MemoryBackend(), clock=ManualClock(START))
    await engine.backend.open()
    await sync_schedules(engine)
    await engine.run_until_idle()
    transport = httpx.ASGITransport(app=HttpApp(engine))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http,
        ServiceClient("http://127.0.0.1", transport=transport) as client,
    ):
        yield Served(engine, http, client)
    await engine.stop(grace=0.0)
    await engine.backend.close()


async def test_schedules_are_listed_with_their_next_and_last_run(served: Served) -> None:
    """The listing names each scheduled workflow's schedule, policies, next and last run."""
    await served.advance(timedelta(hours=2, minutes=30))
    body = (await served.http.get("/_eventual/schedules")).json()
    assert body["schedules"][0] == {
        "workflow": "hourly",
        "kind": "every",
        "expression": None,
        "interval_seconds": 3600.0,
        "tz": "UTC",
        "overlap": "buffer_one",
        "catch_up": "skip",
        "paused": False,
        "next_run": "2026-01-01T03:00:00Z",
        "last_run": "hourly/20260101T020000Z",
        "last_status": "SUCCEEDED",
    }
    hourly_info, morning_info = await served.client.schedules()
    assert morning_info == ScheduleInfo.of(
        "morning",
        morning.schedule,  # type: ignore[arg-type]
        paused=False,
        next_run=datetime(2026, 1, 1, 8, tzinfo=UTC),
        last_run=None,
        last_status=None,
    )
    assert hourly_info.schedule == hourly.schedule
    assert hourly_info.last_status is ExecutionStatus.SUCCEEDED


async def test_pause_and_resume_over_http(served: Served) -> None:
    """A paused schedule lists as paused with no next run and starts nothing until resumed."""
    await served.client.pause_schedule(hourly)
    await served.engine.run_until_idle()
    (info, _) = await served.client.schedules()
    assert (info.paused, info.next_run) == (True, None)
    await served.advance(timedelta(hours=3))
    assert (await served.client.schedules())[0].last_run is None
    await served.client.resume_schedule("hourly")
    await served.engine.run_until_idle()
    await served.advance(timedelta(hours=1))
    (info, _) = await served.client.schedules()
    # catch_up="skip": the runs missed while paused are not made up for.
    assert (info.paused, info.last_run) == (False, "hourly/20260101T040000Z")


async def test_pausing_a_workflow_without_schedule_is_not_found(served: Served) -> None:
    """Pausing a workflow the service does not schedule is a 404 naming the scheduled ones."""
    with pytest.raises(DefinitionNotFound, match=r"'plain' has no schedule.*hourly, morning"):
        await served.client.pause_schedule(plain)
    response = await served.http.post("/_eventual/schedules/nope/resume")
    assert response.status_code == 404


async def test_pausing_a_cancelled_schedule_is_a_conflict(served: Served) -> None:
    """Once its scheduler is cancelled, pausing or resuming a schedule is a 409 saying why."""
    await served.engine.cancel_execution("eventual.schedule/hourly")
    await served.engine.run_until_idle()
    for action in ("pause", "resume"):
        response = await served.http.post(f"/_eventual/schedules/hourly/{action}")
        assert response.status_code == 409
        error = response.json()["error"]
        assert f"the schedule of 'hourly' cannot be {action}d" in error
        assert "eventual.schedule/hourly has ended (CANCELLED)" in error
        assert "stops for good" in error
    with pytest.raises(HttpError, match="has ended") as raised:
        await served.client.pause_schedule(hourly)
    assert raised.value.status == 409


@pytest.mark.parametrize("action", ["pause", "resume"])
async def test_a_scheduler_ending_as_the_signal_is_sent_is_a_conflict(
    any_engine_factory: EngineFactory, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    """A scheduler that ends just before the pause or resume reaches it answers 409, not 202."""
    engine = any_engine_factory(SERVICE)
    await engine.backend.open()
    await sync_schedules(engine)
    await engine.run_until_idle()
    send_signal = engine.send_signal
    sent: list[str] = []

    async def ending_first(execution_id: str, signal: str, payload: JsonValue) -> None:
        # The scheduler ends after any look at its status and before the signal is queued.
        await engine.cancel_execution(execution_id)
        await engine.run_until_idle()
        sent.append(signal)
        await send_signal(execution_id, signal, payload)

    monkeypatch.setattr(engine, "send_signal", ending_first)
    transport = httpx.ASGITransport(app=HttpApp(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        response = await http.post(f"/_eventual/schedules/hourly/{action}")
    await engine.stop(grace=0.0)
    assert sent, "the signal was never sent, so the race was not forced"
    assert response.status_code == 409, response.text
    assert "eventual.schedule/hourly has ended (CANCELLED)" in response.json()["error"]


async def test_pause_from_another_origin_is_refused(served: Served) -> None:
    """A cross-site page cannot pause a schedule; reading the list stays allowed."""
    origin = {"origin": "https://evil.example"}
    response = await served.http.post("/_eventual/schedules/hourly/pause", headers=origin)
    assert response.status_code == 403
    assert (await served.http.get("/_eventual/schedules", headers=origin)).status_code == 200


async def test_schedules_are_in_the_openapi_document(served: Served) -> None:
    """The OpenAPI document describes the schedule endpoints like the other system routes."""
    paths = (await served.http.get("/_eventual/openapi.json")).json()["paths"]
    assert "get" in paths["/_eventual/schedules"]
    pause = paths["/_eventual/schedules/{workflow}/pause"]["post"]
    assert "202" in pause["responses"]
    assert pause["tags"] == ["system"]
