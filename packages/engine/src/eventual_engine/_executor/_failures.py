"""What a failed task attempt means to the workflow: the error it raises, if final.

A failed attempt (``TaskFailed``, ``TaskTimedOut``, ``TaskHeartbeatTimedOut``)
is either retried, as the task's ``RetryPolicy`` decides from the error's type
names and the attempt, or raised into the workflow as ``TaskError``,
``Timeout`` or ``HeartbeatTimeout``.
"""

from __future__ import annotations

import attrs

from eventual import HeartbeatTimeout, TaskError, Timeout
from eventual.history import TaskFailed, TaskHeartbeatTimedOut, TaskTimedOut, error_bases

__all__ = ["AttemptFailure", "attempt_failure"]


@attrs.frozen(kw_only=True)
class AttemptFailure:
    """A failed attempt as the retry policy and the workflow see it.

    Attributes:
        error: The exception the workflow gets when the failure is final.
        error_type: The type name the retry policy matches.
        message: What went wrong.
        bases: The error's base class names (``non_retryable`` matches them too).
    """

    error: BaseException
    error_type: str
    message: str
    bases: list[str]


def attempt_failure(
    event: TaskFailed | TaskTimedOut | TaskHeartbeatTimedOut, task: str
) -> AttemptFailure:
    """Return what the failed attempt ``event`` of ``task`` means."""
    if isinstance(event, TaskFailed):
        return AttemptFailure(
            error=TaskError(event.error_type, event.message),
            error_type=event.error_type,
            message=event.message,
            bases=event.error_bases,
        )
    if isinstance(event, TaskHeartbeatTimedOut):
        message = f"task {task!r} attempt {event.attempt} missed its heartbeat"
        return AttemptFailure(
            error=HeartbeatTimeout(message),
            error_type=HeartbeatTimeout.__name__,
            message=message,
            bases=error_bases(HeartbeatTimeout),
        )
    message = f"task {task!r} attempt {event.attempt} timed out"
    return AttemptFailure(
        error=Timeout(message),
        error_type=Timeout.__name__,
        message=message,
        bases=error_bases(Timeout),
    )
