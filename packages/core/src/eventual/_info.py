"""Values describing the running execution or task."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

__all__ = ["ExecutionInfo", "ExecutionStatus", "TaskInfo"]


class ExecutionStatus(enum.Enum):
    """The state of a workflow execution."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"

    @property
    def done(self) -> bool:
        """Whether the execution has ended."""
        return self is not ExecutionStatus.RUNNING


@attrs.frozen(kw_only=True)
class ExecutionInfo:
    """What a workflow knows about its own execution (see ``execution_info()``).

    Attributes:
        execution_id: ``"{workflow}/{name}"``.
        workflow: The workflow's name.
        name: The execution's name.
        parent_id: The id of the parent execution for a child workflow.
        started_at: When the execution started (UTC).
    """

    execution_id: str
    workflow: str
    name: str
    parent_id: str | None
    started_at: datetime


@attrs.frozen(kw_only=True)
class TaskInfo:
    """What a running task knows about itself (see ``task_info()``).

    Attributes:
        execution_id: The execution that scheduled the task.
        task: The task's name.
        attempt: 1 for the first attempt, 2 for the first retry, and so on.
        token: Identifies this attempt; finishes it with ``complete_task`` or
            ``fail_task`` after ``complete_async()``.
    """

    execution_id: str
    task: str
    attempt: int
    token: str
