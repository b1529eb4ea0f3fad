"""The scheduler: a built-in workflow that starts a scheduled workflow's runs.

One scheduler execution per scheduled workflow (``schedule_execution_id``). It
is an ordinary workflow on the engine, so everything it does is durable and
replayed like user code: it waits on durable timers (``clock="timers"``, every
runtime with loops) or for tick signals (``clock="ticks"``, sent by a runtime
whose own scheduler service fires, as EventBridge Scheduler on AWS), applies
the overlap and catch-up policies, and starts each run as an independent
execution named after its scheduled time, so a repeated tick never starts two
runs and cancelling the scheduler leaves its runs alone.

Rejected: starting runs as child executions, which the scheduler's
``continue_as_new`` or cancellation would cancel; and reading a run's status
inside the workflow from the store, which is I/O the executor does not do.
Both happen in two built-in tasks instead, through the ambient client.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

import attrs

from eventual import (
    DefinitionNotFound,
    ExecutionNotFound,
    RetryPolicy,
    Schedule,
    TaskError,
    Workflow,
    condition,
    continue_as_new,
    logger,
    now,
    patched,
    task,
)
from eventual.codec import JsonValue
from eventual.spi import current_workflow_runtime, require_client

__all__ = [
    "PAUSE",
    "RESUME",
    "SCHEDULER",
    "STEPS_PER_RUN",
    "TICK",
    "UPDATE",
    "SchedulerState",
    "run_name",
    "run_status",
    "scheduler",
    "start_run",
]

SCHEDULER: Final = "eventual.schedule"
"""The scheduler workflow's name (reserved: user workflow names cannot start with ``eventual.``)."""

TICK: Final = "eventual.schedule.tick"
"""Signal: a fire time came (payload ``{"scheduled_time": ISO 8601}``); ``clock="ticks"`` only."""
PAUSE: Final = "eventual.schedule.pause"
"""Signal: stop starting runs until resumed."""
RESUME: Final = "eventual.schedule.resume"
"""Signal: start runs again; fire times missed while paused follow the catch-up policy."""
UPDATE: Final = "eventual.schedule.update"
"""Signal: the code's schedule changed (payload ``{"schedule": ..., "clock": ...}``)."""

STEPS_PER_RUN: Final = 100
"""Wake-ups of one scheduler run before it continues as new, keeping its history bounded."""

if TYPE_CHECKING:
    ScheduleJson: TypeAlias = dict[str, JsonValue]
else:
    # The codec reads this annotation when it decodes the scheduler's input: the
    # schedule is JSON already, and the recursive ``JsonValue`` cannot be resolved.
    ScheduleJson = dict[str, Any]

_FIRST_POLL: Final = timedelta(seconds=1)
_LAST_POLL: Final = timedelta(minutes=1)
_RUNNING: Final = "RUNNING"


def run_name(scheduled_time: datetime) -> str:
    """Return the execution name of the run for a fire time: ``20261205T080000Z`` (UTC)."""
    return scheduled_time.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@attrs.frozen(kw_only=True)
class SchedulerState:
    """The scheduler's input: what it schedules, and where it stands.

    Attributes:
        workflow: The scheduled workflow's name.
        schedule: The schedule's JSON (``Schedule.to_json``); ``None`` once the
            code no longer schedules the workflow (the scheduler then idles).
        clock: ``"timers"`` to wait on durable timers, ``"ticks"`` to wait for
            tick signals.
        last: The latest fire time handled (run, skipped or buffered); fire
            times after it are due. ``None`` before the first run: on timers
            the scheduler then counts from its own start; on ticks it takes
            the first tick it gets, whose time is before that start.
        paused: Whether runs are paused.
        buffered: A fire time waiting for the previous run to end (``buffer_one``).
        last_run: The execution id of the latest run started.
        missed: With ``clock="ticks"``, the latest tick received while paused.
    """

    workflow: str
    schedule: ScheduleJson | None
    clock: Literal["timers", "ticks"] = "timers"
    last: datetime | None = None
    paused: bool = False
    buffered: datetime | None = None
    last_run: str | None = None
    missed: datetime | None = None


# A store that fails for a while must not lose a run; a workflow gone from the code must
# not be retried forever.
_internal_retry = RetryPolicy(
    max_attempts=None, max_interval=timedelta(minutes=1), non_retryable=(DefinitionNotFound,)
)


@task(name="eventual.schedule.start_run", retry=_internal_retry)
async def start_run(workflow: str, name: str) -> str:
    """Start a scheduled run (idempotent: the same name returns the same execution)."""
    return await require_client("starting a scheduled run").start_execution(workflow, None, name)


@task(name="eventual.schedule.run_status", retry=_internal_retry)
async def run_status(execution_id: str) -> str:
    """Return a run's status (``RUNNING``, ``SUCCEEDED``, ...)."""
    client = require_client("reading a scheduled run's status")
    try:
        return (await client.execution_status(execution_id)).value
    except ExecutionNotFound:
        return "MISSING"


_PAUSE_HOLDS_BUFFERED: Final = "eventual.schedule.pause_holds_buffered"

_BEFORE_ANY_TICK: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""``last`` of a ticked scheduler that has seen no tick yet."""


class _Scheduler:
    """The mutable state of one scheduler run; :meth:`state` is what continues."""

    def __init__(self, state: SchedulerState) -> None:
        self.workflow = state.workflow
        self.schedule = None if state.schedule is None else Schedule.from_json(state.schedule)
        self.clock = state.clock
        if state.last is not None:
            self.last = state.last
        elif state.clock == "ticks":
            # An outside scheduler's first tick is the reason this execution starts, and its
            # time is before the start: every tick is newer than none.
            self.last = _BEFORE_ANY_TICK
        else:
            self.last = now()
        self.paused = state.paused
        self.buffered = state.buffered
        self.last_run = state.last_run
        self.missed = state.missed
        self.inbox: list[tuple[str, JsonValue]] = []
        self.poll_at: datetime | None = now() if state.buffered is not None else None
        self.poll = _FIRST_POLL

    def state(self) -> SchedulerState:
        return SchedulerState(
            workflow=self.workflow,
            schedule=None if self.schedule is None else self.schedule.to_json(),
            clock=self.clock,
            last=self.last,
            paused=self.paused,
            buffered=self.buffered,
            last_run=self.last_run,
            missed=self.missed,
        )

    def listen(self) -> None:
        runtime = current_workflow_runtime()
        assert runtime is not None  # the scheduler runs as a workflow
        for name in (TICK, PAUSE, RESUME, UPDATE):
            runtime.on_signal(name, self._keeper(name))

    def _keeper(self, name: str) -> Callable[[JsonValue], None]:
        return lambda payload: self.inbox.append((name, payload))

    def wake_time(self) -> datetime | None:
        times: list[datetime] = []
        if self.clock == "timers" and self.schedule is not None and not self.paused:
            times.append(self.schedule.next_after(self.last))
        if self.buffered is not None and self.poll_at is not None and not self.holding():
            times.append(self.poll_at)
        return min(times, default=None)

    def buffered_due(self) -> bool:
        """Return whether to ask again if the run a buffered one waits for has ended."""
        return (
            self.buffered is not None
            and self.poll_at is not None
            and self.poll_at <= now()
            and not self.holding()
        )

    def holding(self) -> bool:
        """Return whether a buffered run waits for the schedule to be resumed.

        A pause holds every run, the one waiting for the previous run too.
        Schedulers that started that run while paused before this was so replay
        as they ran (the patch).
        """
        return self.paused and self.buffered is not None and patched(_PAUSE_HOLDS_BUFFERED)

    async def run(self) -> None:
        self.listen()
        for _ in range(STEPS_PER_RUN):
            wake = self.wake_time()
            if wake is None:
                await condition(lambda: bool(self.inbox))
            elif wake > now():
                await condition(lambda: bool(self.inbox), wake - now())
            while self.inbox:
                name, payload = self.inbox.pop(0)
                await self.handle(name, payload)
            if self.clock == "timers" and not self.paused:
                await self.fire_due()
            if self.buffered_due():
                await self.try_buffered()
        continue_as_new(self.state())

    # --- signals -------------------------------------------------------------------------

    async def handle(self, name: str, payload: JsonValue) -> None:
        if name == TICK:
            await self.tick(_scheduled_time(payload))
        elif name == PAUSE:
            if not self.paused:
                logger.info("schedule of %s paused", self.workflow)
            self.paused = True
        elif name == RESUME:
            await self.resume()
        elif name == UPDATE and isinstance(payload, dict):
            self.update(payload)

    async def tick(self, scheduled: datetime | None) -> None:
        if scheduled is None or scheduled <= self.last:
            logger.info("tick %s of %s ignored: already handled", scheduled, self.workflow)
            return
        if self.paused:
            self.last = scheduled
            self.missed = scheduled
            logger.info("tick %s of %s not run: the schedule is paused", scheduled, self.workflow)
            return
        await self.fire(scheduled)

    async def resume(self) -> None:
        if not self.paused:
            return
        self.paused = False
        missed = self.missed
        self.missed = None
        if self.clock == "timers" and self.schedule is not None:
            latest = self.schedule.last_at_or_before(now())
            missed = latest if latest > self.last else None
        logger.info("schedule of %s resumed", self.workflow)
        if missed is not None:
            await self.catch_up(missed, "while paused")

    def update(self, payload: dict[str, JsonValue]) -> None:
        data = payload.get("schedule")
        schedule = None if data is None else Schedule.from_json(data)
        clock: Literal["timers", "ticks"] = "ticks" if payload.get("clock") == "ticks" else "timers"
        if schedule != self.schedule:
            # A changed schedule counts from the change, not from the old fire times.
            self.last = max(self.last, now())
            described = "removed" if schedule is None else schedule.describe()
            logger.info("schedule of %s changed: %s", self.workflow, described)
        self.schedule = schedule
        self.clock = clock

    # --- fire times ----------------------------------------------------------------------

    async def fire_due(self) -> None:
        if self.schedule is None:
            return
        first = self.schedule.next_after(self.last)
        if first > now():
            return
        latest = max(self.schedule.last_at_or_before(now()), first)
        if latest == first:
            await self.fire(first)
        else:
            await self.catch_up(latest, f"since {first.isoformat()}")

    async def catch_up(self, latest: datetime, since: str) -> None:
        policy = self.schedule.catch_up if self.schedule is not None else "skip"
        if policy == "once":
            logger.info("runs of %s missed %s: catching up once", self.workflow, since)
            await self.fire(latest)
        else:
            self.last = latest
            logger.info("runs of %s missed %s: skipped (catch_up='skip')", self.workflow, since)

    async def fire(self, scheduled: datetime) -> None:
        self.last = scheduled
        overlap = self.schedule.overlap if self.schedule is not None else "skip"
        running = overlap != "allow" and await self.previous_running()
        if running and overlap == "skip":
            logger.info(
                "run %s of %s skipped: %s is still running",
                run_name(scheduled),
                self.workflow,
                self.last_run,
            )
            return
        if self.buffered is not None:
            # One run waits at most: a later fire time takes the waiting one's place.
            logger.info(
                "run %s of %s replaced by %s",
                run_name(self.buffered),
                self.workflow,
                run_name(scheduled),
            )
            self.buffered = None
            self.poll_at = None
        if running:
            logger.info(
                "run %s of %s waits for %s to end",
                run_name(scheduled),
                self.workflow,
                self.last_run,
            )
            self.buffered = scheduled
            self.poll = _FIRST_POLL
            self.poll_at = now() + self.poll
            return
        await self.start(scheduled)

    async def previous_running(self) -> bool:
        return self.last_run is not None and await self.status(self.last_run) == _RUNNING

    async def try_buffered(self) -> None:
        buffered = self.buffered
        if buffered is None:
            return
        if await self.previous_running():
            self.poll = min(self.poll * 2, _LAST_POLL)
            self.poll_at = now() + self.poll
            return
        self.buffered = None
        self.poll_at = None
        await self.start(buffered)

    async def status(self, execution_id: str) -> str | None:
        try:
            return await run_status(execution_id)
        except TaskError:
            return None

    async def start(self, scheduled: datetime) -> None:
        name = run_name(scheduled)
        try:
            self.last_run = await start_run(self.workflow, name)
        except TaskError as error:
            logger.warning("run %s of %s not started: %s", name, self.workflow, error)
            return
        logger.info("started %s", self.last_run)


def _scheduled_time(payload: JsonValue) -> datetime | None:
    value = payload.get("scheduled_time") if isinstance(payload, dict) else None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


async def _scheduler(state: SchedulerState) -> None:
    await _Scheduler(state).run()


scheduler: Workflow[SchedulerState, None] = Workflow(_scheduler, name=SCHEDULER, _builtin=True)
"""The built-in scheduler workflow (looked up by every engine; not part of a service)."""
