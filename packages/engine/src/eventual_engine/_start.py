"""How a new execution is made, for a start from outside and for a child start alike.

A start writes three things together (``ExecutionStore.create``, or a step's
``StepCommit.starts``): the execution's record, its first history event and,
when its workflow has a timeout, the timer that ends it. They are built here
only, so both kinds of start describe an execution the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from eventual import ExecutionStatus, Workflow
from eventual.codec import JsonValue
from eventual.history import ChildWorkflowFailed, ExecutionRecord, WorkflowStarted, input_digest
from eventual.spi import InboundMessage, TimerRequest

from . import _ids

__all__ = ["NewExecution", "clash_message", "new_execution"]


@attrs.frozen(kw_only=True)
class NewExecution:
    """What creating one execution writes.

    Attributes:
        record: Its record, ``RUNNING``.
        started: Its first history event.
        timers: Its workflow timeout timer, when the workflow has a timeout.
    """

    record: ExecutionRecord
    started: WorkflowStarted
    timers: tuple[TimerRequest, ...]


def new_execution(
    workflow: Workflow[Any, Any],
    name: str,
    input: JsonValue,
    *,
    now: datetime,
    parent_id: str | None = None,
    parent_seq: int | None = None,
    task_key: str | None = None,
) -> NewExecution:
    """Describe a new execution of ``workflow`` named ``name``, started at ``now``.

    Args:
        workflow: The workflow's definition (its name and timeout).
        name: The execution's name; its id is ``{workflow}/{name}``.
        input: The workflow's input, JSON already encoded.
        now: When it starts.
        parent_id: The parent's execution id, for a child.
        parent_seq: The sequence number of the parent's call, for a child whose
            ending the parent awaits.
        task_key: The secret that signs its task tokens (``_ids.new_task_key``,
            or ``_ids.child_task_key`` for a child); None leaves them unsigned,
            as for executions started before tokens were signed.

    Raises:
        ValueError: ``name`` is empty or contains ``/``.
    """
    id_ = _ids.execution_id(workflow.name, name)
    timeout_at = now + workflow.timeout if workflow.timeout else None
    started = WorkflowStarted(
        timestamp=now,
        execution_id=id_,
        workflow=workflow.name,
        name=name,
        input=input,
        parent_id=parent_id,
        parent_seq=parent_seq,
        seed=_ids.seed_for(id_),
        timeout_at=timeout_at,
        task_key=task_key,
    )
    record = ExecutionRecord(
        id=id_,
        workflow=workflow.name,
        name=name,
        status=ExecutionStatus.RUNNING,
        input=input,
        input_digest=input_digest(input),
        parent_id=parent_id,
        started_at=now,
        task_key=task_key,
    )
    timers: tuple[TimerRequest, ...] = ()
    if timeout_at is not None:
        timers = (
            TimerRequest(
                id=_ids.timer_id(id_, "workflow_timeout"),
                execution_id=id_,
                due=timeout_at,
                kind="workflow_timeout",
            ),
        )
    return NewExecution(record=record, started=started, timers=timers)


def clash_message(existing: ExecutionRecord, started: WorkflowStarted) -> InboundMessage | None:
    """Return the message that fails a child start whose id another input already took.

    A backend writes it when a step's ``StepCommit.starts`` holds a child whose
    execution exists with another input: the parent's call then raises
    ``WorkflowFailed`` (``ExecutionAlreadyExists``). Returns None for an
    execution without a parent call awaiting it.
    """
    if started.parent_id is None or started.parent_seq is None:
        return None
    failed = ChildWorkflowFailed(
        timestamp=started.timestamp,
        seq=started.parent_seq,
        error_type="ExecutionAlreadyExists",
        message=f"execution {existing.id!r} exists with another input",
    )
    return InboundMessage(
        id=_ids.clash_message_id(started.execution_id, started.parent_id),
        execution_id=started.parent_id,
        event=failed,
    )
