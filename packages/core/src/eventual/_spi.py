"""Backend interfaces (SPI): what an engine needs from storage and messaging.

Each protocol is small and must be implementable both on the embedded SQLite
backend and on AWS (DynamoDB, S3, SQS FIFO, EventBridge Scheduler);
docs/architecture.md maps every method to both. The engine never calls a
backend outside these methods, so a third-party backend registered through the
``eventual_backend_providers`` hook is a drop-in replacement.

Values crossing the SPI are attrs classes of JSON-ready data, so every backend
can store them with the codec.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Literal, Protocol, runtime_checkable

import attrs

from ._codec import JsonValue
from ._history import ExecutionRecord, HistoryEvent, Json, PublishedEvent, WorkflowStarted
from ._idempotency import IdempotencyStore
from ._info import ExecutionStatus

__all__ = [
    "Backend",
    "Conflict",
    "ExecutionFilter",
    "ExecutionPage",
    "ExecutionStore",
    "InboundBatch",
    "InboundMessage",
    "Lease",
    "StepCommit",
    "TaskDispatch",
    "TaskRequest",
    "TimerKind",
    "TimerRequest",
    "TimerService",
    "WorkWatcher",
    "WorkflowQueue",
    "start_message_id",
]

TimerKind = Literal["timer", "task_timeout", "heartbeat", "workflow_timeout"]


def start_message_id(execution_id: str) -> str:
    """Return the id of the inbound message that starts an execution.

    ``ExecutionStore.create`` queues the ``WorkflowStarted`` under this id, so an
    engine that runs the first step itself can consume it.
    """
    return f"{execution_id}|start"


class Conflict(Exception):
    """A conditional write lost: the execution changed or the lease was lost."""


@attrs.frozen(kw_only=True)
class InboundMessage:
    """One event waiting to be applied to an execution.

    Attributes:
        id: Unique and deterministic, so a redelivered message is recognised.
        execution_id: The execution it is for (the FIFO group).
        event: The event to apply (a completion, a signal, a timer firing, ...).
    """

    id: str
    execution_id: str
    event: HistoryEvent


@attrs.frozen(kw_only=True)
class InboundBatch:
    """Messages for one execution, claimed together by one orchestrator.

    Attributes:
        execution_id: The execution.
        messages: In arrival order.
        lease: Opaque lease token; the commit must present it.
    """

    execution_id: str
    messages: tuple[InboundMessage, ...]
    lease: str


@attrs.frozen(kw_only=True)
class TaskRequest:
    """One attempt of a task, to be run by a task worker.

    Attributes:
        token: ``execution_id|seq|attempt``-derived id; completing twice is harmless.
        execution_id: The execution that scheduled the task.
        seq: The task call's sequence number.
        task: The task's name.
        args: JSON arguments.
        attempt: 1 for the first attempt.
        not_before: Earliest start (retry back-off), or None for now.
        timeout: Time allowed for the attempt.
        heartbeat_timeout: Longest silence between heartbeats.
        mac: The signature that, appended to ``token``, makes the attempt's
            completion token (``task_info().token``); None for an execution
            started before tokens were signed, whose completion token is ``token``.
    """

    token: str
    execution_id: str
    seq: int
    task: str
    args: list[Json]
    attempt: int = 1
    not_before: datetime | None = None
    timeout: timedelta | None = None
    heartbeat_timeout: timedelta | None = None
    mac: str | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class TimerRequest:
    """A durable timer; when due it becomes an :class:`InboundMessage`.

    Attributes:
        id: Unique and deterministic (scheduling twice is harmless).
        execution_id: The execution to notify.
        due: When it fires.
        kind: What firing means: a workflow timer, a task attempt's deadline, a
            heartbeat check, or the workflow's timeout.
        seq: The call it belongs to (0 for the workflow timeout).
        attempt: The task attempt for task timers.
        task: The task's name for task timers.
    """

    id: str
    execution_id: str
    due: datetime
    kind: TimerKind
    seq: int = 0
    attempt: int = 0
    task: str | None = None


@attrs.frozen(kw_only=True)
class Lease:
    """A claim a writer asks for on what it writes, so it can work on it at once.

    Attributes:
        owner: Who holds the claim (an engine's owner id).
        duration: How long the claim lasts (real time) unless renewed.
    """

    owner: str
    duration: timedelta


@attrs.frozen(kw_only=True)
class StepCommit:
    """Everything one orchestrator step writes, atomically (the outbox).

    Attributes:
        execution_id: The execution.
        expected_length: History length the step was computed from.
        lease: The lease of the consumed batch (None when starting).
        consumed: Ids of inbound messages applied (deleted with the commit).
        events: History events to append.
        record: The execution's updated record.
        tasks: Task attempts to dispatch, in order.
        timers: Timers to schedule.
        cancel_timers: Ids of timers no longer needed.
        messages: Inbound messages for other executions (signals, child results,
            cancellations).
        starts: Child executions to create (record and first event).
        published: Events to hand to the event bus.
        finished: Task attempts (tokens) to forget in the same write, as ``finish``
            would: those whose outcome this step applied directly (not through the
            queue), and those of an execution this step ends, which must not run.
        task_claim: When set, ``tasks`` are dispatched already claimed under this
            lease: the committing engine runs them itself, without a claim round
            trip. Only set when every task may start at once.
        owner: The committing engine's owner id (``EngineOptions.owner``), which
            holds the execution's live instance after this step; None when not
            known. A backend shared by several processes may keep it as a hint and
            hand the execution's next messages to that owner first
            (``WorkflowQueue.claim``); a backend may ignore it.
    """

    execution_id: str
    expected_length: int
    lease: str | None
    consumed: tuple[str, ...] = ()
    events: tuple[HistoryEvent, ...] = ()
    record: ExecutionRecord
    tasks: tuple[TaskRequest, ...] = ()
    timers: tuple[TimerRequest, ...] = ()
    cancel_timers: tuple[str, ...] = ()
    messages: tuple[InboundMessage, ...] = ()
    starts: tuple[tuple[ExecutionRecord, WorkflowStarted], ...] = ()
    published: tuple[PublishedEvent, ...] = ()
    finished: tuple[str, ...] = ()
    task_claim: Lease | None = None
    owner: str | None = None


@attrs.frozen(kw_only=True)
class ExecutionFilter:
    """Which executions to list.

    Attributes:
        workflow: Only executions of this workflow.
        status: Only executions in this status.
        limit: At most this many.
        after: Continue after this execution id (from a previous page).
    """

    workflow: str | None = None
    status: ExecutionStatus | None = None
    limit: int = 100
    after: str | None = None


@attrs.frozen(kw_only=True)
class ExecutionPage:
    """A page of executions, newest first, and the cursor of the next page."""

    executions: tuple[ExecutionRecord, ...]
    next: str | None


class ExecutionStore(Protocol):
    """Execution records and their histories."""

    async def create(
        self, record: ExecutionRecord, started: WorkflowStarted, timers: Sequence[TimerRequest]
    ) -> ExecutionRecord:
        """Create an execution and enqueue its ``WorkflowStarted``, unless it exists.

        The message's id is ``start_message_id(record.id)``.

        Returns:
            The stored record: the new one, or the existing one with that id (the
            caller compares input digests to tell a repeat from a clash).
        """

    async def get(self, execution_id: str) -> ExecutionRecord | None:
        """Return the execution's record, or None."""

    async def list(self, query: ExecutionFilter) -> ExecutionPage:
        """Return executions matching ``query``, newest first."""

    async def history(self, execution_id: str, after: int = 0) -> builtins.list[HistoryEvent]:
        """Return the execution's history, oldest first, from position ``after`` on.

        A long-poll asks for only the events past those it has, so a store reads
        just those (``after`` counts from 0, the ``WorkflowStarted`` event).
        """

    async def commit(self, step: StepCommit) -> None:
        """Apply one step atomically.

        Raises:
            Conflict: The history is no longer ``expected_length`` long or the lease
                was lost; nothing was written.
        """


class WorkflowQueue(Protocol):
    """Inbound messages, FIFO per execution, claimed one execution at a time."""

    async def enqueue(self, messages: Sequence[InboundMessage]) -> None:
        """Add messages; a message whose id is already queued is ignored."""

    async def claim(self, owner: str, limit: int, lease: timedelta) -> builtins.list[InboundBatch]:
        """Claim pending messages of up to ``limit`` executions not claimed by others.

        A claim lasts ``lease``; after that another orchestrator may take over.
        A backend may pass over, for a bounded time, executions whose last step
        another owner committed (``StepCommit.owner``), so that the process
        holding an execution's live instance applies its messages; it must not
        pass over them for longer than that bound.
        """

    async def release(self, batch: InboundBatch) -> None:
        """Give up a claim without consuming (the messages stay queued)."""

    async def pending(self) -> int:
        """Return how many messages are queued for running executions (claimed or not)."""


class TimerService(Protocol):
    """Durable timers, fired at least once."""

    async def schedule(self, timers: Sequence[TimerRequest]) -> None:
        """Schedule timers outside a commit (a timer with a known id is replaced)."""

    async def claim_due(
        self, owner: str, now: datetime, limit: int, lease: timedelta
    ) -> builtins.list[TimerRequest]:
        """Claim up to ``limit`` timers due at ``now``, earliest first.

        A claimed timer is not returned again until ``lease`` (real time) passes
        without :meth:`complete`, so a crash between claiming and firing only
        delays it.
        """

    async def complete(self, timer_ids: Sequence[str]) -> None:
        """Delete timers that have fired (their messages are queued)."""

    async def next_due(self) -> datetime | None:
        """Return when the earliest unclaimed timer is due, or None."""


class TaskDispatch(Protocol):
    """Task attempts waiting for, or held by, task workers (at least once)."""

    async def claim(
        self, owner: str, now: datetime, limit: int, lease: timedelta
    ) -> builtins.list[TaskRequest]:
        """Claim up to ``limit`` attempts whose ``not_before`` is at or before ``now``.

        Attempts come in dispatch order. A claim lasts ``lease`` of real time unless
        renewed; an attempt whose claim lapsed (its worker died) is claimed again.
        """

    async def renew(self, owner: str, tokens: Sequence[str], lease: timedelta) -> None:
        """Extend the claims ``owner`` holds on running attempts."""

    async def heartbeat(self, token: str, now: datetime, details: JsonValue) -> bool:
        """Record a heartbeat; False when the attempt is no longer wanted."""

    async def last_heartbeat(self, token: str) -> datetime | None:
        """Return when the attempt last sent a heartbeat, or None (never, or finished)."""

    async def finish(
        self, token: str, outcome: InboundMessage | None = None, *, claim: Lease | None = None
    ) -> InboundBatch | None:
        """Forget an attempt that has completed.

        With ``outcome``, the attempt's result is queued in the same atomic write, so
        a crash can neither lose the result nor leave a finished attempt to be run
        again. With ``claim`` as well, the backend may claim the outcome's execution
        for ``claim.owner`` in that same write, when it is running and nobody holds
        it, and return its queued messages as ``WorkflowQueue.claim`` would; the
        caller then processes them at once. Returning None is always correct.
        """

    async def next_ready(self) -> datetime | None:
        """Return the earliest ``not_before`` of unclaimed attempts, or None if there are none.

        An attempt without ``not_before`` counts as ``datetime.min`` (UTC): ready now.
        """

    async def pending(self) -> int:
        """Return how many attempts are waiting or running."""


class Backend(Protocol):
    """A complete runtime backend, as created by a ``BackendProvider``."""

    @property
    def executions(self) -> ExecutionStore:
        """Execution records and histories."""

    @property
    def queue(self) -> WorkflowQueue:
        """Inbound messages per execution."""

    @property
    def timers(self) -> TimerService:
        """Durable timers."""

    @property
    def tasks(self) -> TaskDispatch:
        """Task attempts."""

    @property
    def idempotency(self) -> IdempotencyStore:
        """Answers kept under ``Idempotency-Key`` headers."""

    async def open(self) -> object:
        """Connect and create what is missing (tables, files); returns the backend."""

    async def published(self, limit: int) -> builtins.list[tuple[str, PublishedEvent]]:
        """Return up to ``limit`` events workflows published, oldest first, with ids.

        The outbox of workflow publishes; the event bus drains it.
        """

    async def ack_published(self, ids: Sequence[str]) -> None:
        """Remove delivered events from the outbox."""

    async def close(self) -> None:
        """Release connections and files."""


@runtime_checkable
class WorkWatcher(Protocol):
    """A backend that can tell an engine when other processes add work (optional).

    An engine serving a backend that implements it runs :meth:`watch` beside its
    loops, so work added on another machine is picked up at once rather than at
    the next poll. Backends without it are polled (``EngineOptions.poll_interval``).
    """

    async def watch(self, wake: Callable[[str], None]) -> None:
        """Call ``wake(loop)`` whenever another process may have added work, until cancelled.

        ``loop`` is ``"orchestrator"``, ``"tasks"``, ``"timers"`` or ``"events"``;
        a spurious call only costs the loop a look.
        """
