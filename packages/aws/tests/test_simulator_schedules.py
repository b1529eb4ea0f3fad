"""Scheduled workflows on the simulator: the plan's Scheduler schedules drive the engine's runs.

One simulator for the module, on moto, with every SQS message and every
schedule invocation delivered twice (``duplicate_deliveries=True``): the real
plan provisions each scheduled workflow's recurring schedule, the simulator's
Scheduler invokes the forwarder at its times on the engine's clock (moved by the
tests), the forwarder ticks the scheduler execution, and the orchestrator and
the scheduler's task functions start the run. Each time must start one run.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from eventual import ExecutionStatus, Schedule
from eventual.spi import ExecutionFilter
from eventual_aws import Simulator
from eventual_engine import SystemClock, schedule_execution_id

pytest.importorskip("eventual_aws._lambda")

SOURCE = """
from datetime import timedelta

from eventual import Schedule, task, workflow


@task
async def write() -> str:
    return "written"


@workflow(schedule=Schedule.cron("0 9 * * *", tz="Europe/Paris"))
async def report() -> str:
    return await write()


@workflow(schedule=Schedule.every(timedelta(minutes=30)))
async def sweep() -> str:
    return "swept"
"""
REPORT = Schedule.cron("0 9 * * *", tz="Europe/Paris")
SWEEP = Schedule.every(timedelta(minutes=30))
_modules = itertools.count()


class MovedClock:
    """The engine's clock, ahead of real time by ``offset`` (the simulator's Scheduler reads it)."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.real = SystemClock.now

    def now(self, clock: SystemClock) -> datetime:
        return self.real(clock) + self.offset

    def move_to(self, moment: datetime) -> None:
        """Move the clock so that it reads ``moment`` now, and runs on from there."""
        self.offset = moment - self.real(SystemClock())


@pytest.fixture(scope="module")
def clock() -> Iterator[MovedClock]:
    moved = MovedClock()
    with pytest.MonkeyPatch.context() as patch:
        # A function, not the bound method: it is looked up on instances as a method.
        patch.setattr(SystemClock, "now", lambda self: moved.now(self))
        yield moved


@pytest.fixture(scope="module")
def module_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A service module of scheduled workflows, importable for the module's tests."""
    root = tmp_path_factory.mktemp("scheduled")
    package = root / "reports"
    package.mkdir()
    (package / "__init__.py").touch()
    name = f"m_{next(_modules)}"
    (package / f"{name}.py").write_text(textwrap.dedent(SOURCE))
    sys.path.insert(0, str(root))
    yield f"reports.{name}"
    sys.path.remove(str(root))
    for module in [m for m in sys.modules if m == "reports" or m.startswith("reports.")]:
        del sys.modules[module]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def simulator(endpoint: str, module_path: str, clock: MovedClock) -> AsyncIterator[Simulator]:
    """The service on moto, shared by the module's tests, everything delivered twice."""
    async with Simulator(
        module_path, endpoint_url=endpoint, prefix="sched", duplicate_deliveries=True
    ) as running:
        yield running


async def _runs(simulator: Simulator, workflow: str) -> dict[str, ExecutionStatus]:
    page = await simulator.client.executions(ExecutionFilter(workflow=workflow, limit=100))
    return {record.id: record.status for record in page.executions}


async def _wait_for_runs(
    simulator: Simulator, workflow: str, ids: set[str], timeout: float = 60
) -> dict[str, ExecutionStatus]:
    """Wait until the runs ``ids`` exist and have ended; return every run of ``workflow``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        runs = await _runs(simulator, workflow)
        if ids <= set(runs) and all(runs[i].done for i in ids):
            return runs
        assert loop.time() < deadline, f"runs {sorted(ids)} of {workflow}: {runs}"
        await simulator.settle(timeout=5)
        await asyncio.sleep(0.2)


def _run_id(workflow: str, moment: datetime) -> str:
    return f"{workflow}/{moment.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


@pytest.mark.asyncio(loop_scope="module")
async def test_the_first_time_after_the_schedule_is_deployed_starts_a_run(
    simulator: Simulator, clock: MovedClock
) -> None:
    """The first nine o'clock in Paris after the deploy starts the first run."""
    first = REPORT.next_after(datetime.now(UTC) + clock.offset)
    clock.move_to(first + timedelta(seconds=20))
    await _wait_for_runs(simulator, "report", {_run_id("report", first)}, timeout=20)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_cron_schedule_starts_one_run_per_time_in_its_time_zone(
    simulator: Simulator, clock: MovedClock
) -> None:
    """Each day at nine in Paris starts one run, though invoked twice or retried after a crash."""
    assert {s.expression for s in simulator.plan.schedules} >= {"cron(0 9 * * ? *)"}
    earlier = REPORT.last_at_or_before(datetime.now(UTC) + clock.offset)
    first = REPORT.next_after(earlier)
    second = REPORT.next_after(first)
    clock.move_to(first + timedelta(seconds=20))
    await _wait_for_runs(simulator, "report", {_run_id("report", first)})
    # The forwarder dies after the tick, before answering: Scheduler invokes it again.
    simulator.crash("forwarder.handled", times=1)
    clock.move_to(second + timedelta(seconds=20))
    runs = await _wait_for_runs(simulator, "report", {_run_id("report", second)})
    assert set(runs) <= {_run_id("report", t) for t in (earlier, first, second)}
    assert set(runs.values()) == {ExecutionStatus.SUCCEEDED}
    assert first.astimezone(UTC).hour in (7, 8)  # nine in Paris, summer or winter
    scheduler = simulator.execution(schedule_execution_id("report"))
    assert await scheduler.status() is ExecutionStatus.RUNNING


@pytest.mark.asyncio(loop_scope="module")
async def test_an_interval_schedule_runs_at_the_engines_times(
    simulator: Simulator, clock: MovedClock
) -> None:
    """Every 30 minutes runs on the half hours in UTC, as the engine's own timers would."""
    for _ in range(2):
        moment = SWEEP.next_after(datetime.now(UTC) + clock.offset)
        clock.move_to(moment + timedelta(seconds=5))
        await simulator.settle(timeout=10)
    later = SWEEP.next_after(moment)
    clock.move_to(later + timedelta(seconds=5))
    runs = await _wait_for_runs(
        simulator, "sweep", {_run_id("sweep", moment), _run_id("sweep", later)}
    )
    assert all(name.split("/")[1][11:13] in ("00", "30") for name in runs)


@pytest.mark.asyncio(loop_scope="module")
async def test_pausing_through_the_api_function_holds_runs_until_resumed(
    simulator: Simulator, clock: MovedClock
) -> None:
    """While paused a time starts nothing; resuming runs it once (catch_up='once')."""
    paused = await simulator.http("POST", "/_eventual/schedules/report/pause")
    assert paused.status_code == 202, paused.text
    assert await simulator.settle(timeout=30)  # the scheduler took the pause signal
    listed = await simulator.http("GET", "/_eventual/schedules")
    (report,) = [s for s in listed.json()["schedules"] if s["workflow"] == "report"]
    assert report["paused"] is True
    before = set(await _runs(simulator, "report"))
    missed = REPORT.next_after(datetime.now(UTC) + clock.offset)
    clock.move_to(missed + timedelta(seconds=20))
    assert await simulator.settle(timeout=30)
    assert simulator.invocations["forwarder"] > 0
    assert set(await _runs(simulator, "report")) == before  # the Scheduler ticked; nothing ran
    resumed = await simulator.http("POST", "/_eventual/schedules/report/resume")
    assert resumed.status_code == 202, resumed.text
    runs = await _wait_for_runs(simulator, "report", {_run_id("report", missed)})
    assert set(runs) == before | {_run_id("report", missed)}
