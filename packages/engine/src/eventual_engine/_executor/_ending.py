"""How an execution ends: the reason, and what the ending writes.

An ending is final: the instance records it once, cancels what the execution
left waiting (its timers, its task attempts, and its children when it was
cancelled or timed out) and tells its parent, all in the step that ends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import attrs

from eventual import ExecutionStatus
from eventual.codec import JsonValue
from eventual.history import (
    ChildWorkflowFailed,
    ChildWorkflowSucceeded,
    ExecutionRecord,
    HistoryEvent,
    WorkflowCancelled,
    WorkflowCancelRequested,
    WorkflowStarted,
    WorkflowSucceeded,
)
from eventual.history import WorkflowFailed as WorkflowFailedEvent
from eventual.spi import InboundMessage

from .. import _ids
from ._calls import Call, TaskCall, TimerCall
from ._output import StepOutput

__all__ = ["ContinueAsNew", "Ending", "ended_record", "write_ending"]


def ended_record(
    base: ExecutionRecord,
    status: ExecutionStatus,
    ended_at: datetime,
    *,
    result: JsonValue = None,
    error_type: str | None = None,
    message: str | None = None,
    run: int | None = None,
    run_start: int | None = None,
) -> ExecutionRecord:
    """Return the record of ``base``'s execution once it ended with ``status``.

    What identifies the execution (its id, input, parent, start, task key) comes
    from ``base``; a field added to ``ExecutionRecord`` is carried over here once.
    The task key stays: an ended execution still refuses forged tokens. The run
    (and where it starts in the history) is ``base``'s unless given: an execution
    that fails where it stands, on a later run, still points at that run.
    """
    return ExecutionRecord(
        id=base.id,
        workflow=base.workflow,
        name=base.name,
        status=status,
        input=base.input,
        input_digest=base.input_digest,
        parent_id=base.parent_id,
        task_key=base.task_key,
        started_at=base.started_at,
        ended_at=ended_at,
        result=result,
        error_type=error_type,
        message=message,
        run=base.run if run is None else run,
        run_start=base.run_start if run_start is None else run_start,
    )


class ContinueAsNew(BaseException):
    """Raised by ``continue_as_new`` to end the run; carries the next run's JSON input.

    A ``BaseException`` so that workflow code's ``except Exception`` does not
    swallow it (``finally`` blocks still run).
    """

    def __init__(self, input: JsonValue) -> None:
        super().__init__("continue as new")
        self.input = input


@attrs.frozen(kw_only=True)
class Ending:
    """Why an execution ended: its final status, with its result or its error.

    Attributes:
        status: The final status (never ``RUNNING``).
        result: The JSON result, when it succeeded.
        error_type: The error's type name, when it did not succeed.
        message: The error's message, when it did not succeed.
    """

    status: ExecutionStatus
    result: JsonValue = None
    error_type: str | None = None
    message: str | None = None

    @classmethod
    def succeeded(cls, result: JsonValue) -> Ending:
        """The workflow returned ``result`` (JSON already encoded)."""
        return cls(status=ExecutionStatus.SUCCEEDED, result=result)

    @classmethod
    def failed(cls, error_type: str, message: str) -> Ending:
        """The workflow raised, or its input or result could not be decoded or encoded."""
        return cls(status=ExecutionStatus.FAILED, error_type=error_type, message=message)

    @classmethod
    def cancelled(cls) -> Ending:
        """The workflow was cancelled and let the cancellation end it."""
        return cls(
            status=ExecutionStatus.CANCELLED,
            error_type="CancelledError",
            message="the execution was cancelled",
        )

    @classmethod
    def timed_out(cls, workflow: str) -> Ending:
        """The workflow ran past its timeout."""
        return cls(
            status=ExecutionStatus.TIMED_OUT,
            error_type="Timeout",
            message=f"workflow {workflow!r} exceeded its timeout",
        )

    @property
    def error(self) -> tuple[str, str] | None:
        """``(error type, message)``, or None when it succeeded."""
        if self.error_type is None or self.message is None:
            return None
        return self.error_type, self.message


def write_ending(
    out: StepOutput,
    ending: Ending,
    *,
    started: WorkflowStarted,
    now: datetime,
    event: HistoryEvent | None,
    calls: Mapping[int, Call],
    children: Iterable[str],
) -> None:
    """Add to ``out`` what ending an execution writes.

    Args:
        out: The step's output.
        ending: How it ended.
        started: Its first event (its id and its parent).
        now: The time of the ending.
        event: The inbound event that ended it (``WorkflowTimedOut``), recorded
            as it came; None when the ending event is made here.
        calls: Its calls still waiting: their timers are cancelled and their
            task attempts forgotten.
        children: Its children still running: cancelled when it was cancelled
            or timed out.
    """
    execution = started.execution_id
    if event is not None:
        out.events.append(event)
    elif ending.status is ExecutionStatus.SUCCEEDED:
        out.events.append(WorkflowSucceeded(timestamp=now, result=ending.result))
    elif ending.status is ExecutionStatus.CANCELLED:
        out.events.append(WorkflowCancelled(timestamp=now))
    elif ending.status is not ExecutionStatus.TIMED_OUT:
        error = ending.error
        assert error is not None
        out.events.append(WorkflowFailedEvent(timestamp=now, error_type=error[0], message=error[1]))
    out.cancel_timers.append(_ids.timer_id(execution, "workflow_timeout"))
    for seq, call in calls.items():
        if isinstance(call, TimerCall):
            out.cancel_timers.append(_ids.timer_id(execution, "timer", seq))
        elif isinstance(call, TaskCall):
            # An attempt still queued (a retry waiting out its back-off) or
            # running must not run on for an execution that has ended.
            token = _ids.TaskToken(execution_id=execution, seq=seq, attempt=call.attempt)
            out.forget_tasks.append(str(token))
            out.cancel_timers.extend(_ids.deadline_timer_ids(token))
    if ending.status in (ExecutionStatus.CANCELLED, ExecutionStatus.TIMED_OUT):
        for child in children:
            message_id = _ids.child_cancel_message_id(execution, child)
            out.messages.append(
                InboundMessage(
                    id=message_id,
                    execution_id=child,
                    event=WorkflowCancelRequested(
                        timestamp=now, reason=f"parent {ending.status.value}", id=message_id
                    ),
                )
            )
    if started.parent_id is not None and started.parent_seq is not None:
        outcome: HistoryEvent
        if ending.status is ExecutionStatus.SUCCEEDED:
            outcome = ChildWorkflowSucceeded(
                timestamp=now, seq=started.parent_seq, result=ending.result
            )
        else:
            error = ending.error
            assert error is not None
            outcome = ChildWorkflowFailed(
                timestamp=now, seq=started.parent_seq, error_type=error[0], message=error[1]
            )
        out.messages.append(
            InboundMessage(
                id=_ids.child_outcome_message_id(execution),
                execution_id=started.parent_id,
                event=outcome,
            )
        )
