"""Replay a recorded history against the local workflow code, with no side effects.

This is what ``eventual replay`` runs: it loads a history (exported from a running
service, read from a SQLite file, or from a JSON document), rebuilds the execution
with the executor exactly as an orchestrator would after a cache miss, and reports
whether the current code reproduces every recorded call and the recorded outcome.
Nothing is written and no task runs: the executor is pure, and replay only reads
what it produced. ``break_at`` stops in the debugger when the code makes the call
with that sequence number: pdb (the default) opens in the workflow's own frame,
at the line making the call, so its locals are at hand and ``next`` steps through
the workflow; a hook that ``PYTHONBREAKPOINT`` names instead is called with the
workflow's frames on its stack.
"""

from __future__ import annotations

import json
import os
import pdb
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import attrs

from eventual import DeterminismError, EventualError, ExecutionStatus, Service
from eventual.codec import JsonValue
from eventual.history import (
    HistoryEvent,
    WorkflowCancelled,
    WorkflowFailed,
    WorkflowPatched,
    WorkflowStarted,
    WorkflowSucceeded,
    WorkflowTimedOut,
    history_event_from_json,
    history_event_to_json,
)

from ._executor import WorkflowInstance
from ._executor._loop import DeterministicLoop
from ._schedules._builtins import workflow_of

__all__ = ["ReplayResult", "history_from_json", "history_to_json", "replay"]

_ENDINGS: dict[type[HistoryEvent], ExecutionStatus] = {
    WorkflowSucceeded: ExecutionStatus.SUCCEEDED,
    WorkflowFailed: ExecutionStatus.FAILED,
    WorkflowCancelled: ExecutionStatus.CANCELLED,
    WorkflowTimedOut: ExecutionStatus.TIMED_OUT,
}


@attrs.frozen(kw_only=True)
class ReplayResult:
    """What replaying a history against the current code showed.

    Attributes:
        execution_id: The replayed execution.
        workflow: Its workflow's name.
        events: How many history events were replayed.
        recorded_status: The status the history ends in (RUNNING when it has no end).
        status: The status the current code reached.
        result: The result the current code returned (when it succeeded).
        error: ``(error type, message)`` the current code ended with, if it failed.
        error_seq: With a ``DeterminismError``: the sequence number where code
            and history part.
        recorded_call: With a ``DeterminismError``: what the history records there.
        new_call: With a ``DeterminismError``: what the code does there now.
        problem: None when the code reproduced the history; otherwise what differs.
        stopped_at: The sequence number at which the debugger was called
            (``break_at``); None without ``break_at``, or when the code never
            made that call.
        patches: The patches the execution took (``patched``/``deprecate_patch``),
            in the order it took them: those its history records and, when the
            replay goes beyond the record, those the code takes there.
    """

    execution_id: str
    workflow: str
    events: int
    recorded_status: ExecutionStatus
    status: ExecutionStatus
    result: JsonValue = None
    error: tuple[str, str] | None = None
    error_seq: int | None = None
    recorded_call: str | None = None
    new_call: str | None = None
    problem: str | None = None
    stopped_at: int | None = None
    patches: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the current code reproduced the recorded calls and outcome."""
        return self.problem is None


def replay(
    service: Service, history: Sequence[HistoryEvent], *, break_at: int | None = None
) -> ReplayResult:
    """Replay ``history`` against ``service``'s current workflow code.

    Args:
        service: The local service whose code is checked.
        history: The recorded history, ``WorkflowStarted`` first.
        break_at: Stop in the debugger when the code makes the durable call with
            this sequence number (1 is the first call).

    Returns:
        The outcome; ``result.ok`` tells whether the code reproduced the history.

    Raises:
        EventualError: The history does not begin with ``WorkflowStarted``, or
            names a workflow the service does not define.
    """
    if not history or not isinstance(history[0], WorkflowStarted):
        raise EventualError("a history must begin with WorkflowStarted")
    started = history[0]
    workflow_of(service, started.workflow)  # unknown workflow: a clear DefinitionNotFound
    ending = next((e for e in reversed(history) if type(e) in _ENDINGS), None)
    recorded_status = _ENDINGS[type(ending)] if ending is not None else ExecutionStatus.RUNNING
    common: dict[str, Any] = {
        "execution_id": started.execution_id,
        "workflow": started.workflow,
        "events": len(history),
        "recorded_status": recorded_status,
    }
    stops: list[int] = []
    try:
        instance, output = WorkflowInstance.from_history(
            service, history, on_call=_breaker(break_at, stops)
        )
    except DeterminismError as error:
        return ReplayResult(
            **common,
            patches=tuple(
                dict.fromkeys(e.patch for e in history if isinstance(e, WorkflowPatched))
            ),
            stopped_at=stops[0] if stops else None,
            status=ExecutionStatus.FAILED,
            error=(type(error).__name__, str(error)),
            error_seq=error.seq,
            recorded_call=error.recorded,
            new_call=error.new,
            problem=str(error),
        )
    reached = ReplayResult(
        **common,
        status=instance.status,
        result=instance.result,
        error=instance.error,
        stopped_at=stops[0] if stops else None,
        patches=tuple(instance.patches()),
    )
    return attrs.evolve(reached, problem=_difference(reached, ending, output.events))


def _breaker(break_at: int | None, stops: list[int]) -> Callable[[int], None] | None:
    if break_at is None:
        return None

    def on_call(seq: int) -> None:
        if seq != break_at:
            return
        stops.append(seq)
        frame = _workflow_frame(sys._getframe(1))
        if frame is None or not _default_debugger():
            # A hook of the user's choosing: called here, with the workflow's
            # frames above this one (`up` reaches them).
            sys.breakpointhook()
            return
        _pdb_in(frame)

    return on_call


# Modules whose frames lie between the workflow's code and the call it made.
_RUNTIME_MODULES = ("eventual", "eventual_engine", "asyncio", "contextvars")
# Except the services the conformance suites ship: their workflows are a user's code.
_SERVICES_WITHIN = "eventual_engine.conformance."
_DRIVER = DeterministicLoop.run_ready.__code__


def _workflow_frame(frame: FrameType | None) -> FrameType | None:
    """Return the innermost frame of user code making the current call, if any.

    That is the workflow function itself, or a helper of the user's it awaits;
    frames above the loop that drives the workflow belong to the caller of the
    replay, not to the workflow.
    """
    while frame is not None and frame.f_code is not _DRIVER:
        module = str(frame.f_globals.get("__name__", ""))
        if module.partition(".")[0] not in _RUNTIME_MODULES or module.startswith(_SERVICES_WITHIN):
            return frame
        frame = frame.f_back
    return None


def _default_debugger() -> bool:
    hook = os.environ.get("PYTHONBREAKPOINT", "")
    return sys.breakpointhook is sys.__breakpointhook__ and hook in ("", "pdb.set_trace")


def _pdb_in(frame: FrameType) -> None:
    """Open pdb in ``frame`` now, then trace the way ``pdb.set_trace`` does, so stepping works.

    ``pdb.set_trace()`` would stop at the next line traced, which is in the
    executor below the workflow; the prompt opens in the workflow's frame instead.
    """
    debugger = pdb.Pdb()
    debugger.reset()
    outer: FrameType | None = frame
    while outer is not None:
        outer.f_trace = debugger.trace_dispatch
        debugger.botframe = outer
        outer = outer.f_back
    debugger.interaction(frame, None)
    # `continue` (without breakpoints) and `quit` leave nothing to trace; `next`,
    # `step` and `return` go on from the workflow's frame.
    if not debugger.quitting and (debugger.stoplineno != -1 or debugger.breaks):
        sys.settrace(debugger.trace_dispatch)


def _difference(
    reached: ReplayResult, ending: HistoryEvent | None, produced: Sequence[HistoryEvent]
) -> str | None:
    if ending is None:
        if reached.status is not ExecutionStatus.RUNNING:
            return f"the history has not ended, but the code now ends it {reached.status.value}"
        return None
    if produced and reached.status is ExecutionStatus.RUNNING:
        return "the history has ended, but the code now makes further calls"
    match ending:
        case WorkflowSucceeded(result=result):
            if reached.status is not ExecutionStatus.SUCCEEDED:
                return f"the history records success, the code now ends {reached.status.value}"
            if reached.result != result:
                return (
                    f"the history records the result {json.dumps(result)}, "
                    f"the code now returns {json.dumps(reached.result)}"
                )
        case WorkflowFailed(error_type=error_type, message=message):
            if reached.error != (error_type, message):
                now = f"{reached.status.value}" + (
                    f" with {reached.error[0]}: {reached.error[1]}" if reached.error else ""
                )
                return (
                    f"the history records failure {error_type}: {message}, the code now ends {now}"
                )
        case _:
            if reached.status is not _ENDINGS[type(ending)]:
                return (
                    f"the history records {_ENDINGS[type(ending)].value}, "
                    f"the code now ends {reached.status.value}"
                )
    return None


def history_to_json(execution_id: str, history: Sequence[HistoryEvent]) -> str:
    """Return a history as the JSON document ``eventual export`` writes.

    Fields marked secret (the task key that signs the execution's task tokens)
    are left out: a recorded history is kept in files and repositories, and
    replay has no use for them.
    """
    document = {
        "execution_id": execution_id,
        "events": [_without_secrets(event) for event in history],
    }
    return json.dumps(document, indent=1) + "\n"


def _without_secrets(event: HistoryEvent) -> dict[str, JsonValue]:
    data = history_event_to_json(event)
    for field in attrs.fields(type(event)):
        if field.metadata.get("secret"):
            data.pop(field.name, None)
    return data


def history_from_json(text: str | bytes, *, source: str | Path = "history") -> list[HistoryEvent]:
    """Read a history from an exported JSON document (or a bare list of events).

    Raises:
        EventualError: The text is not JSON or not a history, naming ``source``.
    """
    try:
        document = json.loads(text)
    except ValueError as error:
        raise EventualError(f"{source}: not JSON ({error})") from None
    events = document.get("events") if isinstance(document, dict) else document
    if not isinstance(events, list):
        raise EventualError(f"{source}: expected an object with an 'events' list")
    try:
        return [history_event_from_json(event) for event in events]
    except (EventualError, KeyError, TypeError, ValueError) as error:
        raise EventualError(f"{source}: not a valid history ({error})") from None
