"""Driving schedulers from outside: keeping them in step with code, ticks, pause, status."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Literal, Protocol

import attrs

from eventual import (
    DefinitionNotFound,
    EventualError,
    ExecutionAlreadyExists,
    ExecutionNotFound,
    ExecutionStatus,
    Schedule,
    ScheduleInfo,
    Service,
)
from eventual.codec import JsonValue, decode, encode
from eventual.history import ExecutionRecord, HistoryEvent, SignalReceived, WorkflowStarted
from eventual.spi import Client, ExecutionFilter, ExecutionPage, execution_id

from ._scheduler import PAUSE, RESUME, SCHEDULER, TICK, UPDATE, SchedulerState


class SchedulingClient(Client, Protocol):
    """What driving schedulers needs: a ``BackendClient``, an ``Engine``, a served engine."""

    @property
    def service(self) -> Service:
        """The service whose workflows are scheduled."""

    async def executions(self, query: ExecutionFilter) -> ExecutionPage:
        """List executions, newest first."""

    async def execution_record(self, execution_id: str) -> ExecutionRecord:
        """Return an execution's record (raises ``ExecutionNotFound``)."""

    async def execution_history(self, execution_id: str, after: int = 0) -> list[HistoryEvent]:
        """Return an execution's history from position ``after`` on."""


__all__ = [
    "ScheduleEnded",
    "SchedulingClient",
    "pause_schedule",
    "resume_schedule",
    "schedule_execution_id",
    "schedule_statuses",
    "schedule_tick",
    "sync_schedules",
]

log = logging.getLogger("eventual.schedules")


class ScheduleEnded(EventualError, RuntimeError):
    """A scheduled workflow's scheduler has ended, so it can be neither paused nor resumed.

    The system API answers it with 409.
    """


Clock = Literal["timers", "ticks"]


def schedule_execution_id(workflow: str) -> str:
    """Return the id of the scheduler execution of a scheduled workflow.

    ``eventual.schedule/{workflow}``: one per workflow, on every runtime.
    """
    return execution_id(SCHEDULER, workflow)


def _scheduled(client: SchedulingClient, workflow: str) -> Schedule:
    definition = client.service.workflows.get(workflow)
    if definition is None or definition.schedule is None:
        scheduled = sorted(n for n, w in client.service.workflows.items() if w.schedule)
        raise DefinitionNotFound(
            f"workflow {workflow!r} has no schedule in service {client.service.name!r} "
            f"(scheduled workflows: {', '.join(scheduled) or '(none)'})"
        )
    return definition.schedule


async def _ensure(
    client: SchedulingClient, workflow: str, schedule: Schedule | None, clock: Clock
) -> bool:
    """Start the scheduler, or bring a running one to ``schedule``; False if it has ended."""
    state = SchedulerState(
        workflow=workflow,
        schedule=None if schedule is None else schedule.to_json(),
        clock=clock,
    )
    try:
        await client.start_execution(SCHEDULER, encode(state, SchedulerState), workflow)
        return True
    except ExecutionAlreadyExists:
        pass
    id_ = schedule_execution_id(workflow)
    if (await client.execution_status(id_)).done:
        log.warning("the scheduler %s has ended, so the schedule of %s does not run", id_, workflow)
        return False
    payload: dict[str, JsonValue] = {"schedule": state.schedule, "clock": clock}
    await client.send_signal(id_, UPDATE, payload)
    return True


async def sync_schedules(client: SchedulingClient, *, clock: Clock = "timers") -> None:
    """Bring the schedulers in step with the code of ``client.service``.

    Each scheduled workflow's scheduler is started if absent, and told the
    schedule if it runs another one (the new schedule counts from now); a
    scheduler whose workflow lost its schedule is told so and idles. Runtimes
    call it when they start (``clock="timers"``).
    """
    scheduled = {n: w.schedule for n, w in client.service.workflows.items() if w.schedule}
    for name, schedule in sorted(scheduled.items()):
        await _ensure(client, name, schedule, clock)
    query = ExecutionFilter(workflow=SCHEDULER, status=ExecutionStatus.RUNNING, limit=1000)
    while True:
        page = await client.executions(query)
        for record in page.executions:
            workflow = record.id.split("/", 1)[1]
            if workflow not in scheduled:
                await client.send_signal(record.id, UPDATE, {"schedule": None, "clock": clock})
        if page.next is None:
            break
        query = attrs.evolve(query, after=page.next)


async def schedule_tick(client: SchedulingClient, workflow: str, scheduled_time: datetime) -> str:
    """Run a fire time of a scheduled workflow that an outside scheduler reports.

    Starts the workflow's scheduler with ``clock="ticks"`` if absent (with the
    schedule of ``client.service``) and sends it the tick; a tick at or before
    one already handled is ignored, so a repeated delivery starts nothing.
    Returns the scheduler's execution id.

    Raises:
        DefinitionNotFound: The service does not schedule ``workflow``.
        ValueError: ``scheduled_time`` is naive.
    """
    if scheduled_time.tzinfo is None:
        raise ValueError(f"schedule_tick needs a timezone-aware time, got {scheduled_time!r}")
    await _ensure(client, workflow, _scheduled(client, workflow), "ticks")
    id_ = schedule_execution_id(workflow)
    when = scheduled_time.astimezone(UTC).isoformat().replace("+00:00", "Z")
    await client.send_signal(id_, TICK, {"scheduled_time": when})
    return id_


async def _control(client: SchedulingClient, workflow: str, signal: str, done: str) -> None:
    """Send ``signal`` to the scheduler of ``workflow``, refusing one that has ended.

    The status is read after the send, not before: a scheduler that ends between
    a check and the send discards the signal, and the caller would hear of a
    pause that never happens. Read after, a running scheduler had the signal
    queued while it ran; an ended one may have discarded it, so the answer is
    the refusal either way (a scheduler that has ended stops for good).
    """
    _scheduled(client, workflow)
    id_ = schedule_execution_id(workflow)
    await client.send_signal(id_, signal, None)  # discarded if the scheduler has ended
    status = await client.execution_status(id_)
    if status.done:
        raise ScheduleEnded(
            f"the schedule of {workflow!r} cannot be {done}: its scheduler {id_} has ended "
            f"({status.value}), and a scheduler that has ended stops for good, even across "
            f"restarts, so the schedule starts no more runs; start runs of {workflow!r} yourself"
        )


async def pause_schedule(client: SchedulingClient, workflow: str) -> None:
    """Pause a scheduled workflow: no run starts until it is resumed.

    Raises:
        DefinitionNotFound: The service does not schedule ``workflow``.
        ExecutionNotFound: Its scheduler has not started yet.
        ScheduleEnded: Its scheduler has ended (cancelled or failed).
    """
    await _control(client, workflow, PAUSE, "paused")


async def resume_schedule(client: SchedulingClient, workflow: str) -> None:
    """Resume a paused scheduled workflow (missed fire times follow its catch-up policy).

    Raises:
        DefinitionNotFound: The service does not schedule ``workflow``.
        ExecutionNotFound: Its scheduler has not started yet.
        ScheduleEnded: Its scheduler has ended (cancelled or failed).
    """
    await _control(client, workflow, RESUME, "resumed")


async def _scheduler_state(client: SchedulingClient, workflow: str) -> SchedulerState | None:
    """Fold the scheduler's current run: its input, then the signals it applied."""
    id_ = schedule_execution_id(workflow)
    try:
        record = await client.execution_record(id_)
    except ExecutionNotFound:
        return None
    history = await client.execution_history(id_, record.run_start)
    if not history or not isinstance(history[0], WorkflowStarted):
        return None
    state: SchedulerState = decode(history[0].input, SchedulerState)
    for event in history[1:]:
        if isinstance(event, SignalReceived) and event.signal in (PAUSE, RESUME):
            state = attrs.evolve(state, paused=event.signal == PAUSE)
    return state


async def _last_run(
    client: SchedulingClient, workflow: str
) -> tuple[str | None, ExecutionStatus | None]:
    """The newest execution of ``workflow`` named like a scheduled run."""
    page = await client.executions(ExecutionFilter(workflow=workflow, limit=50))
    for record in page.executions:
        name = record.id.split("/", 1)[1]
        if len(name) == 16 and name.endswith("Z") and name[8] == "T":
            return record.id, record.status
    return None, None


async def schedule_statuses(client: SchedulingClient) -> list[ScheduleInfo]:
    """Return the status of each scheduled workflow of ``client.service``, by name."""
    statuses = []
    now = client.now()
    for name, definition in sorted(client.service.workflows.items()):
        schedule = definition.schedule
        if schedule is None:
            continue
        state = await _scheduler_state(client, name)
        paused = state is not None and state.paused
        last_run, last_status = await _last_run(client, name)
        next_run = None if state is None or paused else schedule.next_after(now)
        statuses.append(
            ScheduleInfo.of(
                name,
                schedule,
                paused=paused,
                next_run=next_run,
                last_run=last_run,
                last_status=last_status,
            )
        )
    return statuses
