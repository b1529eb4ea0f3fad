"""Readable histories: what a failing test shows about the execution it ran.

A workflow failure reaches a test as ``WorkflowFailed`` with a type name and a
message; what the workflow did before that is in its history. These functions
turn a history into a timeline (position, virtual time since the start, event,
fields) and pick the part that matters for a failure: around the sequence number
a ``DeterminismError`` names, or around the failed call that ended the execution.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from eventual.history import (
    ChildWorkflowFailed,
    ExecutionRecord,
    HistoryEvent,
    SequencedEvent,
    TaskFailed,
    TaskHeartbeatTimedOut,
    TaskTimedOut,
    WorkflowStarted,
)

__all__ = ["explain", "failure_note", "failure_seq", "open_calls"]

_CONTEXT = 4  # events shown before and after the ones of the failing sequence number
_TAIL = 12  # events shown when a failure points at no sequence number
_WIDTH = 80  # longest field value shown
_SEQUENCE = re.compile(r"\bsequence (\d+)\b")
_FAILED_CALLS = (TaskFailed, TaskTimedOut, TaskHeartbeatTimedOut, ChildWorkflowFailed)
# Events that end a call: a scheduled call without one of these is still open.
_OUTCOMES = frozenset(
    {
        "TaskSucceeded",
        "TaskFailed",
        "TaskTimedOut",
        "TaskHeartbeatTimedOut",
        "TimerFired",
        "TimerCancelled",
        "ChildWorkflowSucceeded",
        "ChildWorkflowFailed",
    }
)
_OPENING = frozenset({"TaskScheduled", "TimerScheduled", "ChildWorkflowScheduled"})


def _offset(when: datetime, origin: datetime) -> str:
    delta = when - origin
    sign = "-" if delta < timedelta(0) else "+"
    return f"{sign}{abs(delta)}"


def _value(value: object, origin: datetime) -> str:
    if isinstance(value, datetime):
        return _offset(value, origin)
    if isinstance(value, list) and value and all(attrs.has(type(v)) for v in value):
        return "[" + ", ".join(_fields(v, origin) for v in value) + "]"
    text = repr(value)
    return text if len(text) <= _WIDTH else text[: _WIDTH - 3] + "..."


def _fields(item: attrs.AttrsInstance, origin: datetime) -> str:
    skipped = {"timestamp", "seq", "id", "seed"}
    if isinstance(item, WorkflowStarted):
        skipped |= {"execution_id", "name"}  # the header names the execution
    return " ".join(
        f"{field.name}={_value(getattr(item, field.name), origin)}"
        for field in attrs.fields(type(item))
        if field.name not in skipped and getattr(item, field.name) not in (None, "")
    )


def _line(position: int, event: HistoryEvent, origin: datetime, marked: bool) -> str:
    seq = f"seq {event.seq:<3}" if isinstance(event, SequencedEvent) else " " * 7
    marker = ">" if marked else " "
    when = _offset(event.timestamp, origin)
    return f"  {marker}{position:>4}  {when:>16}  {seq}  {event.type:<22} {_fields(event, origin)}"


def _origin(history: Sequence[HistoryEvent]) -> datetime | None:
    return history[0].timestamp if history else None


def failure_seq(record: ExecutionRecord, history: Sequence[HistoryEvent]) -> int | None:
    """Return the sequence number a failed execution's error points at, if any.

    A ``DeterminismError`` names it in its message; a failure that a failed task
    or child caused (its error went uncaught) points at that call.
    """
    if record.error_type == "DeterminismError" and record.message:
        found = _SEQUENCE.search(record.message)
        if found is not None:
            return int(found.group(1))
    for event in reversed(history):
        if isinstance(event, _FAILED_CALLS) and _ended(record, event):
            return event.seq
    return None


def _ended(
    record: ExecutionRecord,
    event: TaskFailed | TaskTimedOut | TaskHeartbeatTimedOut | ChildWorkflowFailed,
) -> bool:
    """Tell whether the execution ended with the error this failed call raised in it.

    A failed call the workflow caught is not the cause of a later failure; only a
    call whose error went uncaught is. Timeouts are told apart by type alone.
    """
    match event:
        case TaskFailed(error_type=error_type, message=message):
            raised = "TaskError", f"{error_type}: {message}" if message else error_type
        case ChildWorkflowFailed(error_type=error_type, message=message):
            raised = "WorkflowFailed", f"{error_type}: {message}" if message else error_type
        case TaskHeartbeatTimedOut():
            return record.error_type == "HeartbeatTimeout"
        case _:
            return record.error_type == "Timeout"
    return (record.error_type, record.message) == raised


def open_calls(history: Sequence[HistoryEvent]) -> list[str]:
    """Describe the calls of a history that are still waiting for an outcome."""
    waiting: dict[int, HistoryEvent] = {}
    for event in history:
        if isinstance(event, SequencedEvent):
            if event.type in _OPENING:
                waiting[event.seq] = event
            elif event.type in _OUTCOMES:
                waiting.pop(event.seq, None)
    origin = _origin(history)
    if origin is None:
        return []
    return [f"seq {seq} {event.type} {_fields(event, origin)}" for seq, event in waiting.items()]


def _window(history: Sequence[HistoryEvent], seq: int | None) -> list[int]:
    """Return the positions to show: around ``seq``, or the tail, plus start and end."""
    last = len(history) - 1
    if seq is None:
        chosen = set(range(max(0, last - _TAIL + 1), last + 1))
    else:
        hits = [i for i, e in enumerate(history) if isinstance(e, SequencedEvent) and e.seq == seq]
        if not hits:
            # The code made a call the history never recorded: show the end.
            chosen = set(range(max(0, last - _TAIL + 1), last + 1))
        else:
            chosen = set(range(max(0, hits[0] - _CONTEXT), min(last, hits[-1] + _CONTEXT) + 1))
            chosen.update(hits)
    chosen.update({0, last})
    return sorted(chosen)


def _render(history: Sequence[HistoryEvent], positions: list[int], seq: int | None) -> list[str]:
    origin = _origin(history)
    if origin is None:
        return ["  (no history)"]
    lines: list[str] = []
    previous = -1
    for position in positions:
        if position > previous + 1:
            lines.append(f"  ... {position - previous - 1} event(s) not shown")
        event = history[position]
        marked = seq is not None and isinstance(event, SequencedEvent) and event.seq == seq
        lines.append(_line(position, event, origin, marked))
        previous = position
    return lines


def _header(record: ExecutionRecord, history: Sequence[HistoryEvent]) -> str:
    started = history[0] if history else None
    start = f", started {started.timestamp.isoformat()}" if started else ""
    workflow = started.workflow if isinstance(started, WorkflowStarted) else record.workflow
    status = record.status.value
    ending = f": {record.error_type}: {record.message}" if record.error_type else ""
    return f"execution {record.id!r} of workflow {workflow!r}{start}, {status}{ending}"


def failure_note(record: ExecutionRecord, history: Sequence[HistoryEvent]) -> str:
    """Describe a failed execution: the error, its sequence number, the history around it."""
    seq = failure_seq(record, history)
    where = f" around sequence {seq}" if seq is not None else ""
    lines = [
        _header(record, history),
        f"history{where} (position, time since start, seq, event; '>' marks seq {seq}):"
        if seq is not None
        else "history (position, time since start, seq, event):",
        *_render(history, _window(history, seq), seq),
    ]
    return "\n".join(lines)


def explain(record: ExecutionRecord, history: Sequence[HistoryEvent]) -> str:
    """Describe an execution: its status and its whole history as a timeline.

    For a failed execution the events of the sequence number its error points at
    are marked with ``>``.
    """
    seq = failure_seq(record, history) if record.error_type else None
    lines = [
        _header(record, history),
        "history (position, time since start, seq, event):",
        *_render(history, list(range(len(history))), seq),
    ]
    waiting = open_calls(history) if not record.status.done else []
    if waiting:
        lines.append("waiting for:")
        lines.extend(f"  {call}" for call in waiting)
    return "\n".join(lines)
