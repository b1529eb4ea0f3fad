"""Tests for the plan's recurring schedules, one per scheduled workflow."""

from __future__ import annotations

import json
from collections.abc import Callable

import attrs
import pytest

from eventual.codec import JsonValue
from eventual_aws import PlanError, SchedulePlan, ServicePlan, plan
from eventual_aws._plan._manifest import ScheduledWorkflow, read_manifest
from eventual_aws._plan._schedules import schedule_plan
from eventual_aws._plan._summary import summary
from eventual_engine import SCHEDULER_TASKS


def _claim(space: str, name: str, owner: str) -> str:
    return name


def _scheduled(schedule: dict[str, JsonValue], name: str = "report") -> ScheduledWorkflow:
    manifest: dict[str, JsonValue] = {
        "service": {"name": "shop", "module": "shop.service"},
        "workflows": [
            {"kind": "workflow", "name": "other", "import_path": "shop.service:other"},
            {
                "kind": "workflow",
                "name": name,
                "import_path": f"shop.service:{name}",
                "schedule": schedule,
            },
        ],
    }
    (workflow,) = read_manifest(manifest).schedules
    return workflow


CRON: dict[str, JsonValue] = {
    "format": 1,
    "kind": "cron",
    "interval_seconds": None,
    "expression": "0 9 * * MON-FRI",
    "tz": "Europe/Paris",
    "overlap": "skip",
    "catch_up": "once",
}


def test_a_cron_schedule_is_a_recurring_schedule_invoking_the_forwarder() -> None:
    """The workflow's cron becomes Scheduler's, in its zone, invoking the forwarder as planned."""
    planned = schedule_plan(_scheduled(CRON), claim=_claim)
    assert planned.id == "schedule.report"
    assert planned.name == "workflow-report"
    assert planned.workflow == "report"
    assert planned.expression == "cron(0 9 ? * MON-FRI *)"
    assert planned.timezone == "Europe/Paris"
    assert planned.flexible_time_window == "OFF"
    assert planned.state == "ENABLED"
    assert (planned.target, planned.role, planned.dead_letter_queue) == (
        "function.forwarder",
        "role.scheduler",
        "queue.forwarder-dlq",
    )
    assert json.loads(planned.input) == {
        "schedule": "report",
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    assert planned.retry.maximum_retry_attempts == 185
    assert planned.retry.maximum_event_age_s == 86400
    assert planned.declared == CRON


def test_an_interval_fires_at_the_engines_times() -> None:
    """Every two hours is a UTC cron at the engine's times; every five hours a rate()."""
    two = _scheduled({"kind": "every", "interval_seconds": 7200.0, "tz": "UTC"})
    five = _scheduled({"kind": "every", "interval_seconds": 18000.0, "tz": "UTC"})
    assert schedule_plan(two, claim=_claim).expression == "cron(0 0/2 * * ? *)"
    assert schedule_plan(five, claim=_claim).expression == "rate(5 hours)"
    assert schedule_plan(five, claim=_claim).timezone == "UTC"


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({**CRON, "expression": "0 9 1 * MON"}, r"workflow 'report' \(shop.service:report\)"),
        ({**CRON, "tz": "Mars/Olympus"}, "not an IANA time zone name"),
        ({"kind": "every", "interval_seconds": 90.0}, "whole minutes"),
        ({"kind": "hourly"}, "unknown kind 'hourly'"),
    ],
)
def test_what_scheduler_cannot_run_is_refused_naming_the_workflow(
    schedule: dict[str, JsonValue], message: str
) -> None:
    """A schedule Scheduler cannot run fails the plan, naming the workflow and the problem."""
    with pytest.raises(PlanError, match=message):
        schedule_plan(_scheduled(schedule), claim=_claim)


def test_long_workflow_names_get_stable_schedule_names() -> None:
    """A name past Scheduler's 64 characters is shortened the same way every time."""
    long = "a" * 80
    first = schedule_plan(_scheduled(CRON, name=long), claim=_claim)
    again = schedule_plan(_scheduled(CRON, name=long), claim=_claim)
    assert len(first.name) == 64
    assert first.name == again.name


def _with_schedule() -> tuple[ServicePlan, SchedulePlan]:
    base = plan("orders.service")
    planned = schedule_plan(_scheduled(CRON), claim=_claim)
    return attrs.evolve(base, schedules=(planned,)), planned


def test_a_plan_with_schedules_round_trips_and_checks() -> None:
    """Schedules travel in the plan's JSON and refer only to resources the plan lists."""
    with_schedule, planned = _with_schedule()
    data = json.loads(json.dumps(with_schedule.to_json()))
    assert data["schedules"][0]["expression"] == "cron(0 9 ? * MON-FRI *)"
    assert ServicePlan.from_json(data) == with_schedule
    with_schedule.check()
    ids = {r.id for r in with_schedule.resources()}
    assert {planned.id, planned.target, planned.role, planned.dead_letter_queue} <= ids


def test_eventual_plan_lists_the_schedules() -> None:
    """The summary names each schedule, its expression, zone and target."""
    with_schedule, _ = _with_schedule()
    text = summary(with_schedule)
    assert "1 schedule," in text
    line = next(line for line in text.splitlines() if "schedule.report" in line)
    assert "cron(0 9 ? * MON-FRI *)" in line
    assert "Europe/Paris" in line
    assert "function.forwarder" in line


SOURCE = """
from datetime import timedelta

from eventual import Schedule, task, workflow


@task
async def write() -> str:
    return "written"


@workflow(schedule=Schedule.cron("0 9 * * MON-FRI", tz="Europe/Paris"))
async def report() -> str:
    return await write()


@workflow(schedule=Schedule.every(timedelta(minutes=15), overlap="buffer_one"))
async def sweep() -> None:
    return None


@workflow
async def other(n: int) -> int:
    return n
"""


def test_a_scheduled_service_plans_its_schedules_and_the_schedulers_tasks(
    make_service: Callable[[str], str],
) -> None:
    """Each scheduled workflow gets a schedule; the engine's scheduler tasks get their functions."""
    planned = plan(make_service(SOURCE))
    assert {(s.workflow, s.expression, s.timezone) for s in planned.schedules} == {
        ("report", "cron(0 9 ? * MON-FRI *)", "Europe/Paris"),
        ("sweep", "cron(0/15 * * * ? *)", "UTC"),
    }
    for task in SCHEDULER_TASKS:
        function = planned.function(f"task-{task}")
        assert function.environment["EVENTUAL_AWS_TASK"] == task
        assert function.timeout_s == 60
        (source,) = function.event_sources
        assert source.queue == f"queue.task.{task}"
    # Every function may ring the scheduler tasks' queues (a scheduler's step dispatches them).
    orchestrator = planned.function("orchestrator")
    rung = {s.resource for s in orchestrator.statements if "sqs:SendMessage" in s.actions}
    assert {f"queue.task.{task}" for task in SCHEDULER_TASKS} <= rung
    planned.check()


UNSCHEDULED = """
from eventual import task, workflow


@task
async def write() -> str:
    return "written"


@workflow
async def report() -> str:
    return await write()
"""


def test_a_service_without_schedules_has_no_scheduler_functions(
    make_service: Callable[[str], str],
) -> None:
    """A service that schedules nothing has no schedule and no scheduler task function."""
    planned = plan(make_service(UNSCHEDULED))
    assert planned.schedules == ()
    assert not [f for f in planned.functions if "eventual.schedule" in f.name]
