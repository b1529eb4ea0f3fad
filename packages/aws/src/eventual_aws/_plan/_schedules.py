"""The plan's recurring schedules: one EventBridge Scheduler schedule per scheduled workflow.

Locally a scheduled workflow's clock is the engine's durable timers; on AWS it
is a recurring Scheduler schedule in the service's group. Each occurrence
invokes the forwarder (the target the one-time timer schedules already use, so
the scheduler role, its rights and the dead-letter queue serve both) with
``{"schedule": <workflow>, "scheduled_time": "<aws.scheduler.scheduled-time>"}``;
Scheduler fills in the occurrence's time, and the forwarder hands it to the
engine (``eventual_engine.schedule_tick``), whose scheduler execution decides
what runs: the overlap and catch-up policies and pausing live there, so a
duplicate or late invocation changes nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from ._cron import cron_expression, interval_expression
from ._manifest import Handler, Manifest, ScheduledWorkflow
from ._names import SCHEDULE_NAME_LIMIT, PlanError, schedule_name
from ._resources import SchedulePlan, ScheduleRetryPlan

__all__ = [
    "SCHEDULED_TIME",
    "SCHEDULE_INPUT_KEY",
    "SCHEDULE_RETRY",
    "SCHEDULED_TIME_KEY",
    "schedule_plan",
    "with_scheduler_tasks",
]

SCHEDULE_INPUT_KEY: Final = "schedule"
"""The key of a recurring schedule's input naming the workflow (the forwarder reads it)."""
SCHEDULED_TIME_KEY: Final = "scheduled_time"
"""The key of the occurrence's time in a recurring schedule's input."""
SCHEDULED_TIME: Final = "<aws.scheduler.scheduled-time>"
"""Scheduler's context attribute, replaced in the input by the occurrence's time (ISO 8601, UTC)."""
_SCHEDULER_TASK_TIMEOUT_S: Final = 50
"""Each is one call to the table; a short timeout keeps its queue's visibility short."""
_SCHEDULER_TASK_MEMORY_MB: Final = 256
SCHEDULE_RETRY: Final = ScheduleRetryPlan(maximum_event_age_s=86400, maximum_retry_attempts=185)
"""Scheduler's longest retries, as the one-time timer schedules get by default: a late
occurrence still counts (the engine ignores one older than what it has seen)."""


def _expression(workflow: ScheduledWorkflow) -> str:
    schedule: dict[str, Any] = workflow.schedule
    kind = schedule.get("kind")
    if kind == "cron":
        expression = schedule.get("expression")
        if not isinstance(expression, str):
            raise PlanError(f"manifest: {workflow.label} has a cron schedule without expression")
        return cron_expression(expression, label=workflow.label)
    if kind == "every":
        seconds = schedule.get("interval_seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise PlanError(f"manifest: {workflow.label} has an interval schedule without interval")
        if seconds % 60:
            raise PlanError(
                f"{workflow.label} runs every {seconds:g} s; EventBridge Scheduler's rates are "
                "whole minutes: give an interval of whole minutes"
            )
        return interval_expression(math.floor(seconds) // 60, label=workflow.label)
    raise PlanError(f"manifest: {workflow.label} has a schedule of unknown kind {kind!r}")


def _timezone(workflow: ScheduledWorkflow) -> str:
    zone = workflow.schedule.get("tz", "UTC")
    if not isinstance(zone, str):
        raise PlanError(f"manifest: {workflow.label} has a time zone that is not a name: {zone!r}")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise PlanError(
            f"{workflow.label} is scheduled in time zone {zone!r}, which is not an IANA time "
            "zone name (such as 'Europe/Paris' or 'UTC')"
        ) from None
    return zone


def schedule_plan(
    workflow: ScheduledWorkflow, *, claim: Callable[[str, str, str], str]
) -> SchedulePlan:
    """Return the recurring schedule of a scheduled workflow.

    Args:
        workflow: The workflow and its schedule, from the manifest.
        claim: Records a physical name (space, name, owner), refusing a clash.

    Raises:
        PlanError: The schedule cannot run on EventBridge Scheduler (a cron
            expression restricting both day fields, an unknown time zone); the
            message names the workflow and what to write instead.
    """
    name = claim("schedule", schedule_name(workflow.name), workflow.label)
    assert len(name) <= SCHEDULE_NAME_LIMIT
    return SchedulePlan(
        id=f"schedule.{workflow.name}",
        name=name,
        workflow=workflow.name,
        declared=dict(workflow.schedule),
        expression=_expression(workflow),
        timezone=_timezone(workflow),
        input=json.dumps(
            {SCHEDULE_INPUT_KEY: workflow.name, SCHEDULED_TIME_KEY: SCHEDULED_TIME},
            separators=(",", ":"),
        ),
        retry=SCHEDULE_RETRY,
    )


def with_scheduler_tasks(manifest: Manifest) -> Manifest:
    """Return the manifest with the engine's scheduler tasks, when it schedules a workflow.

    The manifest lists what the code declares; the scheduler executions that run
    scheduled workflows dispatch the engine's own tasks, which need a queue and a
    function on AWS like any task.
    """
    if not manifest.schedules:
        return manifest
    # Imported here: the plan is imported by every Lambda handler, which defers the
    # engine to its first invocation (cold start).
    from eventual_engine import SCHEDULER_TASKS

    declared = {task.name for task in manifest.tasks}
    builtins = tuple(
        Handler(
            kind="task",
            name=name,
            label=f"the engine's scheduler task {name!r}",
            timeout_s=_SCHEDULER_TASK_TIMEOUT_S,
            memory_mb=_SCHEDULER_TASK_MEMORY_MB,
        )
        for name in SCHEDULER_TASKS
        if name not in declared
    )
    return attrs.evolve(manifest, tasks=manifest.tasks + builtins)
