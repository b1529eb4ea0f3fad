"""Schedules in TestEnvironment: fire times on the virtual clock and every policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eventual import Schedule, Service, Workflow, sleep, workflow
from eventual.history import WorkflowStarted
from eventual.spi import ExecutionFilter
from eventual_engine import Engine, ManualClock, schedule_execution_id, schedule_tick
from eventual_engine._schedules import STEPS_PER_RUN, pause_schedule, resume_schedule
from eventual_testing import TestEnvironment

HOUR = timedelta(hours=1)


@workflow(schedule=Schedule.cron("0 9 * * MON-FRI", tz="Europe/Paris"))
async def morning_report() -> None:
    """Runs at nine on weekday mornings in Paris."""


@workflow(schedule=Schedule.every(timedelta(hours=6)))
async def six_hourly() -> None:
    """Runs every six hours."""


def _long(overlap: str) -> Workflow[None, None]:
    async def long_run() -> None:
        await sleep(timedelta(minutes=90))  # outlasts the hourly interval

    schedule = Schedule.every(HOUR, overlap=overlap)  # type: ignore[arg-type]
    return workflow(name=f"long_{overlap}", schedule=schedule)(long_run)


def _hourly(catch_up: str) -> Workflow[None, None]:
    async def hourly() -> None:
        pass

    schedule = Schedule.every(HOUR, catch_up=catch_up)  # type: ignore[arg-type]
    return workflow(name=f"hourly_{catch_up}", schedule=schedule)(hourly)


async def _runs(engine: Engine, workflow: str) -> list[str]:
    page = await engine.executions(ExecutionFilter(workflow=workflow, limit=1000))
    return sorted(record.id.split("/", 1)[1] for record in page.executions)


async def test_cron_fires_on_weekdays_only_across_a_week() -> None:
    """Across a virtual week from a Thursday, the weekday cron runs five times at 08:00 UTC."""
    service = Service.from_definitions("reports", [morning_report])
    async with TestEnvironment(service) as env:
        await env.advance(timedelta(days=7))
        assert await _runs(env.engine, "morning_report") == [
            "20260101T080000Z",
            "20260102T080000Z",
            "20260105T080000Z",
            "20260106T080000Z",
            "20260107T080000Z",
        ]


async def test_every_fires_on_its_interval_from_the_start() -> None:
    """An interval schedule runs at each multiple of the interval after the environment's start."""
    service = Service.from_definitions("reports", [six_hourly])
    async with TestEnvironment(service, start=datetime(2026, 5, 1, 3, tzinfo=UTC)) as env:
        await env.advance(timedelta(hours=21))
        assert await _runs(env.engine, "six_hourly") == [
            "20260501T060000Z",
            "20260501T120000Z",
            "20260501T180000Z",
            "20260502T000000Z",
        ]
        status = await env.execution(f"six_hourly/{'20260501T060000Z'}").status()
        assert status.value == "SUCCEEDED"


async def test_schedules_can_be_turned_off() -> None:
    """With schedules=False nothing starts on its own; a test starts the workflow directly."""
    service = Service.from_definitions("reports", [six_hourly])
    async with TestEnvironment(service, schedules=False) as env:
        await env.advance(timedelta(days=1))
        assert await _runs(env.engine, "six_hourly") == []
        handle = await env.start(six_hourly, None)
        await handle.result()


async def test_overlap_skip_does_not_start_while_the_previous_run_runs() -> None:
    """With overlap='skip', a fire time while the last run still runs starts nothing."""
    long = _long("skip")
    async with TestEnvironment(Service.from_definitions("s", [long])) as env:
        await env.advance(timedelta(hours=4, minutes=10))
        assert await _runs(env.engine, long.name) == ["20260101T010000Z", "20260101T030000Z"]
        logs = await env.engine.execution_logs(schedule_execution_id(long.name))
        lines = [entry.message for entry in logs]
        assert "started long_skip/20260101T010000Z" in lines
        assert (
            "run 20260101T020000Z of long_skip skipped: long_skip/20260101T010000Z is still running"
            in lines
        )


async def test_overlap_buffer_one_starts_when_the_previous_run_ends() -> None:
    """With 'buffer_one', a fire time waits for the running run; later ones collapse into one."""
    long = _long("buffer_one")
    async with TestEnvironment(Service.from_definitions("s", [long])) as env:
        await env.advance(timedelta(hours=4, minutes=10))
        # 02:00 waits for the 01:00 run (ends 02:30); 03:00 is replaced by 04:00
        # while the 02:00 run runs until about 04:00.
        runs = await _runs(env.engine, long.name)
        assert runs == ["20260101T010000Z", "20260101T020000Z", "20260101T040000Z"]
        history = await env.engine.execution_history(f"{long.name}/20260101T020000Z")
        started = history[0].timestamp
        assert datetime(2026, 1, 1, 2, 30, tzinfo=UTC) <= started
        assert started <= datetime(2026, 1, 1, 2, 31, tzinfo=UTC)


async def test_a_pause_holds_the_run_waiting_for_the_previous_one() -> None:
    """Paused, a 'buffer_one' run waiting for the previous run does not start when it ends."""
    long = _long("buffer_one")
    async with TestEnvironment(Service.from_definitions("s", [long]), replay=True) as env:
        await env.advance(timedelta(hours=2, minutes=10))  # 02:00 waits for 01:00 (ends 02:30)
        await pause_schedule(env.engine, long.name)
        await env.advance(timedelta(hours=2))
        assert await _runs(env.engine, long.name) == ["20260101T010000Z"]
        await resume_schedule(env.engine, long.name)
        await env.run_until_idle()
        # Resumed, the latest missed fire time takes the waiting run's place.
        assert await _runs(env.engine, long.name) == ["20260101T010000Z", "20260101T040000Z"]


async def test_overlap_allow_always_starts() -> None:
    """With 'allow', every fire time starts a run, overlapping or not."""
    long = _long("allow")
    async with TestEnvironment(Service.from_definitions("s", [long])) as env:
        await env.advance(timedelta(hours=4, minutes=10))
        assert len(await _runs(env.engine, long.name)) == 4


async def _stop_for(env: TestEnvironment, delta: timedelta) -> None:
    """Move the clock without running anything, as a stopped process sees it, then run."""
    clock = env.engine.clock
    assert isinstance(clock, ManualClock)
    clock.set(env.now + delta)
    await env.run_until_idle()


async def test_catch_up_once_runs_the_latest_missed_fire_time() -> None:
    """After a stop across several fire times, 'once' starts one run, for the latest of them."""
    hourly = _hourly("once")
    async with TestEnvironment(Service.from_definitions("s", [hourly])) as env:
        await _stop_for(env, timedelta(hours=5, minutes=30))
        assert await _runs(env.engine, hourly.name) == ["20260101T050000Z"]
        await env.advance(HOUR)
        assert await _runs(env.engine, hourly.name) == ["20260101T050000Z", "20260101T060000Z"]


async def test_catch_up_skip_waits_for_the_next_fire_time() -> None:
    """After a stop across several fire times, 'skip' starts nothing until the next one."""
    hourly = _hourly("skip")
    async with TestEnvironment(Service.from_definitions("s", [hourly])) as env:
        await _stop_for(env, timedelta(hours=5, minutes=30))
        assert await _runs(env.engine, hourly.name) == []
        await env.advance(HOUR)
        assert await _runs(env.engine, hourly.name) == ["20260101T060000Z"]


async def test_pause_and_resume() -> None:
    """A paused schedule starts nothing; resuming catches up once, then runs on time."""
    hourly = _hourly("once")
    async with TestEnvironment(Service.from_definitions("s", [hourly])) as env:
        await env.advance(timedelta(hours=1, minutes=30))
        await pause_schedule(env.engine, hourly.name)
        await env.advance(timedelta(hours=3))
        assert await _runs(env.engine, hourly.name) == ["20260101T010000Z"]
        await resume_schedule(env.engine, hourly.name)
        await env.run_until_idle()
        await env.advance(HOUR)
        assert await _runs(env.engine, hourly.name) == [
            "20260101T010000Z",
            "20260101T040000Z",
            "20260101T050000Z",
        ]


async def test_a_repeated_tick_starts_one_run() -> None:
    """Ticks from an outside scheduler start one run each; a repeated or older tick is ignored."""
    service = Service.from_definitions("reports", [six_hourly])
    async with TestEnvironment(service, schedules=False) as env:
        noon = datetime(2026, 1, 1, 12, tzinfo=UTC)
        scheduler = await schedule_tick(env.engine, "six_hourly", noon)
        await env.run_until_idle()
        await schedule_tick(env.engine, "six_hourly", noon)
        await schedule_tick(env.engine, "six_hourly", noon - timedelta(hours=6))
        await env.run_until_idle()
        assert scheduler == schedule_execution_id("six_hourly") == "eventual.schedule/six_hourly"
        assert await _runs(env.engine, "six_hourly") == ["20260101T120000Z"]
        await schedule_tick(env.engine, "six_hourly", noon + timedelta(hours=6))
        await env.run_until_idle()
        assert len(await _runs(env.engine, "six_hourly")) == 2


async def test_the_first_tick_starts_a_run_though_it_arrives_late() -> None:
    """The tick that starts the scheduler runs its time, though that time is before the start."""
    service = Service.from_definitions("reports", [six_hourly])
    async with TestEnvironment(service, schedules=False) as env:
        await env.advance(timedelta(hours=12, seconds=3))
        noon = datetime(2026, 1, 1, 12, tzinfo=UTC)
        assert env.now > noon
        await schedule_tick(env.engine, "six_hourly", noon)
        await env.run_until_idle()
        assert await _runs(env.engine, "six_hourly") == ["20260101T120000Z"]


async def test_the_scheduler_history_stays_bounded() -> None:
    """Over many fire times the scheduler continues as new, so its history stays short."""
    every_minute = workflow(name="every_minute", schedule=Schedule.every(60))(six_hourly.fn)
    async with TestEnvironment(Service.from_definitions("s", [every_minute])) as env:
        await env.advance(timedelta(minutes=2 * STEPS_PER_RUN + 10))
        assert len(await _runs(env.engine, "every_minute")) == 2 * STEPS_PER_RUN + 10
        scheduler = schedule_execution_id("every_minute")
        record = await env.engine.execution_record(scheduler)
        current = await env.engine.execution_history(scheduler, record.run_start)
        assert isinstance(current[0], WorkflowStarted)
        assert current[0].run == record.run == 3
        # What a replay reads: the current run only, some events per fire time.
        assert len(current) < 8 * (STEPS_PER_RUN // 2)
