"""A recurring schedule's occurrence, as the forwarder receives it: one tick to the engine.

The plan's recurring schedules invoke the forwarder with ``{"schedule":
<workflow>, "scheduled_time": <the occurrence's time>}``. The forwarder passes it
to ``eventual_engine.schedule_tick``, which starts the workflow's scheduler
execution if needed and signals it; that execution applies the overlap,
catch-up and pause policies. The tick is idempotent (the scheduler execution
has a fixed id, and ignores a tick no newer than one it has seen), so
Scheduler's at-least-once invocations and retries never start a second run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from eventual import DefinitionNotFound

from .._plan._schedules import SCHEDULE_INPUT_KEY, SCHEDULED_TIME_KEY
from ._log import log_context
from ._runtime import Runtime

__all__ = ["is_schedule_event", "tick"]

log = logging.getLogger("eventual.aws.lambda")


def is_schedule_event(event: object) -> bool:
    """Whether an invocation of the forwarder is a recurring schedule's occurrence."""
    return isinstance(event, dict) and SCHEDULE_INPUT_KEY in event


def _scheduled_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def tick(runtime: Runtime, event: dict[str, Any]) -> dict[str, object]:
    """Hand one occurrence of a workflow's recurring schedule to the engine.

    Returns:
        ``{"schedule", "scheduled_time", "outcome"}``: ``ticked``, or ``invalid``
        when the input names no time, or a workflow the service does not
        schedule (retrying cannot fix either).

    Raises:
        Exception: The tick could not be recorded (the table throttled, ...):
            Lambda reports the error and Scheduler retries the occurrence.
    """
    from eventual_engine import schedule_tick

    workflow = event.get(SCHEDULE_INPUT_KEY)
    moment = _scheduled_time(event.get(SCHEDULED_TIME_KEY))
    answer: dict[str, object] = {"schedule": workflow, "scheduled_time": None}
    if not isinstance(workflow, str) or moment is None:
        log.error(
            'the forwarder\'s input is not a schedule occurrence (expected {"schedule", '
            '"scheduled_time"}): %r',
            event,
        )
        return {**answer, "outcome": "invalid"}
    answer["scheduled_time"] = moment.isoformat()
    with log_context(schedule=workflow, scheduled_time=moment.isoformat()):
        runtime.faults.reach("forwarder.received")
        try:
            await schedule_tick(runtime.client, workflow, moment)
        except DefinitionNotFound as error:
            # The deployed schedule names a workflow the deployed code does not schedule
            # (a deploy in progress): retrying cannot make it scheduled.
            log.error("schedule of workflow %r not run: %s", workflow, error)
            return {**answer, "outcome": "invalid"}
        log.info("schedule of workflow %s ticked for %s", workflow, moment.isoformat())
        runtime.faults.reach("forwarder.handled")
    return {**answer, "outcome": "ticked"}
