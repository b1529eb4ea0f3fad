"""Schedulers on one SQLite file across restarts, and in LocalRuntime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eventual import ExecutionNotFound, Schedule, Service, Workflow, workflow
from eventual.history import (
    SignalReceived,
    TaskScheduled,
    TimerCancelled,
    TimerFired,
    TimerScheduled,
)
from eventual.spi import ExecutionFilter
from eventual_engine import (
    SCHEDULER_TASKS,
    Engine,
    LocalRuntime,
    ManualClock,
    schedule_execution_id,
    sync_schedules,
)
from eventual_engine._schedules import schedule_statuses
from eventual_engine._sqlite import SqliteBackend

START = datetime(2026, 1, 1, tzinfo=UTC)


async def report() -> None:
    """A scheduled workflow's body."""


HOURLY = workflow(name="report", schedule=Schedule.every(timedelta(hours=1)))(report)
DAILY = workflow(name="report", schedule=Schedule.cron("0 6 * * *", tz="Europe/Paris"))(report)
UNSCHEDULED = workflow(name="report")(report)


class Started:
    """An engine on a SQLite file and a manual clock, brought in step like a runtime start."""

    def __init__(self, db: Path, definition: Workflow[None, None], at: datetime) -> None:
        service = Service.from_definitions("reports", [definition])
        self.clock = ManualClock(at)
        self.engine = Engine(service, SqliteBackend(db), clock=self.clock)

    async def __aenter__(self) -> Engine:
        await self.engine.backend.open()
        await sync_schedules(self.engine)
        await self.engine.run_until_idle()
        return self.engine

    async def __aexit__(self, *_: object) -> None:
        await self.engine.stop(grace=0.0)
        await self.engine.backend.close()


async def _runs(engine: Engine) -> list[str]:
    page = await engine.executions(ExecutionFilter(workflow="report"))
    return sorted(record.id.split("/", 1)[1] for record in page.executions)


async def _pending_timer(engine: Engine) -> datetime | None:
    """The wake-up the scheduler waits for, if any."""
    history = await engine.execution_history(schedule_execution_id("report"))
    timers = [e for e in history if isinstance(e, TimerScheduled)]
    fired = {e.seq for e in history if isinstance(e, TimerFired | TimerCancelled)}
    pending = [t.until for t in timers if t.seq not in fired]
    return pending[-1] if pending else None


async def test_a_schedule_changed_between_two_starts_follows_the_code(tmp_path: Path) -> None:
    """Restarted with another schedule, the scheduler switches; without one, it idles."""
    db = tmp_path / "schedules.db"
    async with Started(db, HOURLY, START) as engine:
        await engine.advance_to(START + timedelta(hours=2, minutes=30))
        assert await _runs(engine) == ["20260101T010000Z", "20260101T020000Z"]
        assert await _pending_timer(engine) == START + timedelta(hours=3)
    later = START + timedelta(hours=2, minutes=40)
    async with Started(db, DAILY, later) as engine:
        # 06:00 in Paris is 05:00 UTC in winter; the old hourly timer was dropped.
        assert await _pending_timer(engine) == datetime(2026, 1, 1, 5, tzinfo=UTC)
        await engine.advance_to(datetime(2026, 1, 2, 6, tzinfo=UTC))
        assert await _runs(engine) == [
            "20260101T010000Z",
            "20260101T020000Z",
            "20260101T050000Z",
            "20260102T050000Z",
        ]
        (status,) = await schedule_statuses(engine)
        assert status.schedule == DAILY.schedule
        assert status.last_run == "report/20260102T050000Z"
        assert status.next_run == datetime(2026, 1, 3, 5, tzinfo=UTC)
    async with Started(db, UNSCHEDULED, datetime(2026, 1, 2, 7, tzinfo=UTC)) as engine:
        history = await engine.execution_history(schedule_execution_id("report"))
        updates = [e.payload for e in history if isinstance(e, SignalReceived)]
        assert updates[-1] == {"schedule": None, "clock": "timers"}
        assert await _pending_timer(engine) is None
        await engine.advance_to(datetime(2026, 1, 5, tzinfo=UTC))
        assert len(await _runs(engine)) == 4


async def test_a_stopped_process_catches_up_once_when_it_starts_again(tmp_path: Path) -> None:
    """Started again hours later, the scheduler runs one run for the latest missed fire time."""
    db = tmp_path / "stopped.db"
    async with Started(db, HOURLY, START) as engine:
        await engine.advance_to(START + timedelta(minutes=90))
    async with Started(db, HOURLY, START + timedelta(hours=6, minutes=5)) as engine:
        assert await _runs(engine) == ["20260101T010000Z", "20260101T060000Z"]
        # A runtime that routes tasks by name learns the scheduler's from SCHEDULER_TASKS.
        history = await engine.execution_history(schedule_execution_id("report"))
        called = {e.task for e in history if isinstance(e, TaskScheduled)}
        assert called == set(SCHEDULER_TASKS)


async def test_local_runtime_starts_schedulers_unless_told_not_to(tmp_path: Path) -> None:
    """LocalRuntime starts each scheduled workflow's scheduler, or none with schedules=False."""
    service = Service.from_definitions("reports", [HOURLY])
    async with LocalRuntime(service, db=tmp_path / "off.db", schedules=False) as rt:
        with pytest.raises(ExecutionNotFound):
            await rt.engine.execution_record(schedule_execution_id("report"))
    async with LocalRuntime(service, db=tmp_path / "on.db") as rt:
        record = await rt.engine.execution_record(schedule_execution_id("report"))
        assert record.id == "eventual.schedule/report"
        assert not record.status.done


async def test_a_start_that_fails_closes_the_store_it_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When bringing the schedulers in step fails, LocalRuntime closes its store and raises."""
    closed: list[SqliteBackend] = []
    close = SqliteBackend.close

    async def recording_close(backend: SqliteBackend) -> None:
        closed.append(backend)
        await close(backend)

    async def failing_sync(engine: Engine) -> None:
        raise OSError("the store went away")

    monkeypatch.setattr(SqliteBackend, "close", recording_close)
    monkeypatch.setattr("eventual_engine._local.sync_schedules", failing_sync)
    service = Service.from_definitions("reports", [HOURLY])
    runtime = LocalRuntime(service, db=tmp_path / "failing.db")
    with pytest.raises(OSError, match="the store went away"):
        await runtime.__aenter__()
    assert len(closed) == 1
    with pytest.raises(RuntimeError, match="not running"):
        runtime.engine  # noqa: B018  # the property raises once nothing runs
