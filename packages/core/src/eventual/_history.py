"""The data model: history events and execution records.

An execution *is* its history: an append-only list of the events below. Events
that a workflow call produces (``TaskScheduled``, ``TimerScheduled``, ...) carry
the call's sequence number ``seq``; the event that completes that call carries
the same ``seq``. Payloads inside events are JSON values already encoded by the
codec, so history never needs the user's types to be read.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeAlias

import attrs

from ._codec import JsonValue, decode, encode
from ._errors import ValidationError
from ._info import ExecutionStatus

__all__ = [
    "error_bases",
    "HISTORY_EVENT_TYPES",
    "ChildWorkflowFailed",
    "ChildWorkflowScheduled",
    "ChildWorkflowSucceeded",
    "EventsPublished",
    "ExecutionRecord",
    "HistoryEvent",
    "PublishedEvent",
    "SequencedEvent",
    "SignalReceived",
    "SignalSent",
    "TaskFailed",
    "TaskHeartbeatTimedOut",
    "TaskRetryScheduled",
    "TaskScheduled",
    "TaskStarted",
    "TaskSucceeded",
    "TaskTimedOut",
    "TimerCancelled",
    "TimerFired",
    "TimerScheduled",
    "WorkflowCancelRequested",
    "WorkflowCancelled",
    "WorkflowContinuedAsNew",
    "WorkflowFailed",
    "WorkflowPatched",
    "WorkflowStarted",
    "WorkflowSucceeded",
    "WorkflowTimedOut",
    "history_event_from_json",
    "history_event_to_json",
    "input_digest",
]

if TYPE_CHECKING:
    Json: TypeAlias = JsonValue
    """A JSON value already encoded by the codec (kept as data, never as user types)."""
else:
    # The codec reads these annotations when it decodes events and records. ``Any``
    # hands a payload through as it is (it is JSON already), where the recursive
    # ``JsonValue`` union would make the codec walk every payload again, and cannot
    # be resolved by it (its members refer to it by name).
    Json = Any


@attrs.frozen(kw_only=True)
class HistoryEvent:
    """Base class of history events.

    Attributes:
        timestamp: When the event happened (UTC).
    """

    type: ClassVar[str] = "HistoryEvent"
    timestamp: datetime


@attrs.frozen(kw_only=True)
class SequencedEvent(HistoryEvent):
    """A history event belonging to one workflow call, identified by ``seq``."""

    seq: int


# --- execution lifecycle -------------------------------------------------------


@attrs.frozen(kw_only=True)
class WorkflowStarted(HistoryEvent):
    """The execution was started (always the first event)."""

    type: ClassVar[str] = "WorkflowStarted"
    execution_id: str
    workflow: str
    name: str
    input: Json
    parent_id: str | None = None
    parent_seq: int | None = None
    seed: int = 0
    timeout_at: datetime | None = None
    run: int = 1
    """Which run of the execution this starts (``continue_as_new`` starts the next)."""
    seq_base: int = 0
    """The run's first call takes ``seq_base + 1``: sequence numbers never repeat
    across runs, so a late outcome of the previous run's call matches nothing."""
    task_key: str | None = attrs.field(default=None, repr=False, metadata={"secret": True})
    """The secret that signs the execution's task tokens (every run keeps it).

    None for an execution started before tokens were signed: its tokens stay
    ``{execution}|{seq}|{attempt}``. Never served by the system API."""
    applied_ids: tuple[str, ...] = ()
    """Ids of inbound messages the runs before this one applied recently (signals,
    cancel requests): a repeat of one arriving in this run is ignored. Empty for
    the first run, and in histories recorded before runs were handed them."""


@attrs.frozen(kw_only=True)
class WorkflowSucceeded(HistoryEvent):
    """The workflow returned ``result``."""

    type: ClassVar[str] = "WorkflowSucceeded"
    result: Json


@attrs.frozen(kw_only=True)
class WorkflowFailed(HistoryEvent):
    """The workflow raised an exception of ``error_type`` with ``message``."""

    type: ClassVar[str] = "WorkflowFailed"
    error_type: str
    message: str


@attrs.frozen(kw_only=True)
class WorkflowContinuedAsNew(HistoryEvent):
    """Run ``run`` ended with ``continue_as_new(input)``; a ``WorkflowStarted`` follows.

    The execution keeps its id: the next run starts right after this event, and
    only that run is replayed from then on.
    """

    type: ClassVar[str] = "WorkflowContinuedAsNew"
    input: Json
    run: int


@attrs.frozen(kw_only=True)
class WorkflowCancelRequested(HistoryEvent):
    """Somebody asked the execution to cancel; ``id`` makes redelivery harmless.

    ``id`` is the request's message id (empty in histories recorded before it
    was kept), so a repeat of a request an earlier run applied is ignored.
    """

    type: ClassVar[str] = "WorkflowCancelRequested"
    reason: str = ""
    id: str = ""


@attrs.frozen(kw_only=True)
class WorkflowCancelled(HistoryEvent):
    """The execution ended because it was cancelled."""

    type: ClassVar[str] = "WorkflowCancelled"
    reason: str = ""


@attrs.frozen(kw_only=True)
class WorkflowTimedOut(HistoryEvent):
    """The execution ran past its workflow timeout."""

    type: ClassVar[str] = "WorkflowTimedOut"


@attrs.frozen(kw_only=True)
class WorkflowPatched(HistoryEvent):
    """The code took patch ``patch`` after its call ``after_seq`` (0: before any call).

    Not a call: it takes no sequence number, so code that adds a ``patched()``
    check replays histories recorded without one. ``deprecated`` tells a marker
    written by ``deprecate_patch`` (whose old branch is gone) from one written by
    ``patched``.
    """

    type: ClassVar[str] = "WorkflowPatched"
    patch: str
    after_seq: int
    deprecated: bool = False


# --- tasks ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TaskScheduled(SequencedEvent):
    """The workflow called task ``task`` with JSON ``args``."""

    type: ClassVar[str] = "TaskScheduled"
    task: str
    args: list[Json]


@attrs.frozen(kw_only=True)
class TaskStarted(SequencedEvent):
    """Attempt ``attempt`` of the task started running, at ``timestamp``.

    Written together with the attempt's outcome (as Temporal writes its
    ``ActivityTaskStarted``), so a started attempt costs no step of its own: the
    time from ``TaskScheduled`` (or ``TaskRetryScheduled``) to this event is
    queueing, from it to the outcome running. Its time may therefore be earlier
    than events recorded before it. Read on replay, never applied: histories
    without it replay the same.
    """

    type: ClassVar[str] = "TaskStarted"
    attempt: int = 1


@attrs.frozen(kw_only=True)
class TaskSucceeded(SequencedEvent):
    """Attempt ``attempt`` of the task returned ``result``.

    ``started_at`` is when the attempt started, as the worker reports it with
    the outcome; the executor records it as ``TaskStarted`` (and leaves it out
    of the recorded outcome).
    """

    type: ClassVar[str] = "TaskSucceeded"
    result: Json
    attempt: int = 1
    started_at: datetime | None = None


@attrs.frozen(kw_only=True)
class TaskFailed(SequencedEvent):
    """Attempt ``attempt`` of the task raised.

    ``error_bases`` names the error's base classes (empty when unknown, as for a
    ``fail_task`` with a message), so ``RetryPolicy.non_retryable`` honours
    subclasses.
    """

    type: ClassVar[str] = "TaskFailed"
    error_type: str
    message: str
    attempt: int = 1
    error_bases: list[str] = attrs.field(factory=list)
    started_at: datetime | None = None


@attrs.frozen(kw_only=True)
class TaskTimedOut(SequencedEvent):
    """Attempt ``attempt`` exceeded the task's timeout and will not be retried."""

    type: ClassVar[str] = "TaskTimedOut"
    attempt: int = 1


@attrs.frozen(kw_only=True)
class TaskHeartbeatTimedOut(SequencedEvent):
    """Attempt ``attempt`` missed its heartbeat and will not be retried."""

    type: ClassVar[str] = "TaskHeartbeatTimedOut"
    attempt: int = 1


@attrs.frozen(kw_only=True)
class TaskRetryScheduled(SequencedEvent):
    """Attempt ``attempt - 1`` failed; attempt ``attempt`` runs at ``retry_at``."""

    type: ClassVar[str] = "TaskRetryScheduled"
    attempt: int
    retry_at: datetime
    error_type: str
    message: str


# --- timers and signals ----------------------------------------------------------


@attrs.frozen(kw_only=True)
class TimerScheduled(SequencedEvent):
    """The workflow started a durable timer due at ``until``."""

    type: ClassVar[str] = "TimerScheduled"
    until: datetime


@attrs.frozen(kw_only=True)
class TimerFired(SequencedEvent):
    """The timer with this ``seq`` fired."""

    type: ClassVar[str] = "TimerFired"


@attrs.frozen(kw_only=True)
class TimerCancelled(SequencedEvent):
    """The timer with this ``seq`` stopped mattering before it fired.

    The code let go of it: a ``sleep`` that was cancelled, or the timeout of an
    ``expect``, ``condition`` or ``asyncio.wait_for`` whose wait ended first.
    Written by the code, not applied on replay (older histories, which lack it,
    replay the same).
    """

    type: ClassVar[str] = "TimerCancelled"


@attrs.frozen(kw_only=True)
class SignalReceived(HistoryEvent):
    """Signal ``signal`` arrived with ``payload``; ``id`` makes redelivery harmless."""

    type: ClassVar[str] = "SignalReceived"
    signal: str
    payload: Json
    id: str = ""


@attrs.frozen(kw_only=True)
class SignalSent(SequencedEvent):
    """The workflow sent signal ``signal`` to ``execution_id``."""

    type: ClassVar[str] = "SignalSent"
    execution_id: str
    signal: str
    payload: Json


# --- child workflows and events ---------------------------------------------------


@attrs.frozen(kw_only=True)
class ChildWorkflowScheduled(SequencedEvent):
    """The workflow started child execution ``execution_id``."""

    type: ClassVar[str] = "ChildWorkflowScheduled"
    workflow: str
    name: str
    execution_id: str
    input: Json
    wait: bool = True


@attrs.frozen(kw_only=True)
class ChildWorkflowSucceeded(SequencedEvent):
    """The child execution with this ``seq`` returned ``result``."""

    type: ClassVar[str] = "ChildWorkflowSucceeded"
    result: Json


@attrs.frozen(kw_only=True)
class ChildWorkflowFailed(SequencedEvent):
    """The child execution with this ``seq`` failed, timed out or was cancelled."""

    type: ClassVar[str] = "ChildWorkflowFailed"
    error_type: str
    message: str


@attrs.frozen(kw_only=True)
class PublishedEvent:
    """One event published by a workflow: its name and JSON payload.

    In the outbox (not in history) ``id`` and ``time`` are set when the step is
    committed: the event's bus id, so delivering it again after a crash is
    recognised, and when it was published.
    """

    name: str
    payload: Json
    id: str | None = None
    time: datetime | None = None


@attrs.frozen(kw_only=True)
class EventsPublished(SequencedEvent):
    """The workflow published ``events``."""

    type: ClassVar[str] = "EventsPublished"
    events: list[PublishedEvent]


HISTORY_EVENT_TYPES: Final[dict[str, type[HistoryEvent]]] = {
    cls.type: cls
    for cls in (
        WorkflowStarted,
        WorkflowSucceeded,
        WorkflowFailed,
        WorkflowCancelRequested,
        WorkflowCancelled,
        WorkflowTimedOut,
        WorkflowPatched,
        WorkflowContinuedAsNew,
        TaskScheduled,
        TaskStarted,
        TaskSucceeded,
        TaskFailed,
        TaskTimedOut,
        TaskHeartbeatTimedOut,
        TaskRetryScheduled,
        TimerScheduled,
        TimerFired,
        TimerCancelled,
        SignalReceived,
        SignalSent,
        ChildWorkflowScheduled,
        ChildWorkflowSucceeded,
        ChildWorkflowFailed,
        EventsPublished,
    )
}


def error_bases(error_class: type[BaseException]) -> list[str]:
    """Return the names of an exception class's bases, nearest first (``object`` left out)."""
    return [c.__name__ for c in error_class.__mro__[1:] if c is not object]


def history_event_to_json(event: HistoryEvent) -> dict[str, JsonValue]:
    """Return the JSON form of a history event: its fields plus ``"type"``."""
    data = encode(event, type(event))
    assert isinstance(data, dict)
    return {"type": event.type, **data}


def history_event_from_json(data: JsonValue) -> HistoryEvent:
    """Read a history event from its JSON form (raises ``ValidationError``)."""
    if not isinstance(data, dict):
        raise ValidationError("event", f"expected an object, got {data!r}")
    fields = dict(data)
    kind = fields.pop("type", None)
    cls = HISTORY_EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None or not isinstance(kind, str):
        raise ValidationError("event.type", f"unknown history event type {kind!r}")
    event: HistoryEvent = decode(fields, cls, path=kind)
    return event


def input_digest(data: JsonValue) -> str:
    """Return a stable digest of a JSON input (to tell a repeated start from a clash)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.frozen(kw_only=True)
class ExecutionRecord:
    """The summary of one execution, kept beside its history.

    Attributes:
        id: ``"{workflow}/{name}"``.
        workflow: The workflow's name.
        name: The execution's name.
        status: Current status.
        input: The JSON input.
        input_digest: Digest of the input (see :func:`input_digest`).
        parent_id: The parent execution, for a child workflow.
        started_at: When it started.
        ended_at: When it ended, if it has.
        result: The JSON result when it succeeded.
        error_type: The error's class name when it failed, timed out or was cancelled.
        message: The error's message.
        run: The current run (1 until ``continue_as_new`` starts another).
        run_start: Where the current run's ``WorkflowStarted`` is in the history.
        task_key: The secret that signs the execution's task tokens (the one in its
            ``WorkflowStarted``), or None for an execution started before tokens
            were signed. Never served by the system API.
    """

    id: str
    workflow: str
    name: str
    status: ExecutionStatus
    input: Json
    input_digest: str
    parent_id: str | None = None
    started_at: datetime
    ended_at: datetime | None = None
    result: Json = None
    error_type: str | None = None
    message: str | None = None
    run: int = 1
    run_start: int = 0
    task_key: str | None = attrs.field(default=None, repr=False, metadata={"secret": True})
