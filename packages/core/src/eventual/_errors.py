"""The error hierarchy users catch and raise."""

from __future__ import annotations

__all__ = [
    "DeterminismError",
    "EventualError",
    "ExecutionAlreadyExists",
    "ExecutionNotFound",
    "HeartbeatTimeout",
    "HttpError",
    "RuntimeNotAvailable",
    "TaskError",
    "Timeout",
    "ValidationError",
    "WorkflowFailed",
]


class EventualError(Exception):
    """Base class of every error raised by eventual."""


class Timeout(EventualError, TimeoutError):
    """A wait (task, signal, child workflow, workflow) exceeded its timeout."""


class HeartbeatTimeout(Timeout):
    """A task did not send a heartbeat within its ``heartbeat_timeout``."""


class TaskError(EventualError):
    """A task raised an exception; seen by the workflow that called it.

    Attributes:
        error_type: The class name of the exception the task raised.
        message: The exception's message.
    """

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}" if message else error_type)
        self.error_type = error_type
        self.message = message

    def __reduce__(self) -> tuple[type[TaskError], tuple[str, str]]:
        return (type(self), (self.error_type, self.message))


class WorkflowFailed(EventualError):
    """An execution failed, timed out or was cancelled.

    Attributes:
        error_type: The class name of the error that ended the execution
            (``"Timeout"`` for a workflow timeout, ``"CancelledError"`` for a
            cancellation).
        message: The error's message.
    """

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}" if message else error_type)
        self.error_type = error_type
        self.message = message

    def __reduce__(self) -> tuple[type[WorkflowFailed], tuple[str, str]]:
        return (type(self), (self.error_type, self.message))


class DeterminismError(EventualError):
    """Replaying workflow code did not reproduce its recorded history.

    Attributes:
        seq: The sequence number where code and history part, when known.
        recorded: What the history records there (e.g. ``task reserve_stock``), or
            None when the history has nothing there.
        new: What the code does there now, or None when it makes no such call.
    """

    def __init__(
        self,
        message: str,
        *,
        seq: int | None = None,
        recorded: str | None = None,
        new: str | None = None,
    ) -> None:
        super().__init__(message)
        self.seq = seq
        self.recorded = recorded
        self.new = new


class ExecutionAlreadyExists(EventualError):
    """An execution with this id exists and was started with another input."""


class ExecutionNotFound(EventualError, LookupError):
    """No execution has the given id."""


class ValidationError(EventualError, ValueError):
    """A value does not fit its declared type.

    Attributes:
        path: Where in the value the problem is, e.g. ``order.items[2].quantity``.
        problem: What was wrong, e.g. ``expected int, got "x"``.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem

    def __reduce__(self) -> tuple[type[ValidationError], tuple[str, str]]:
        return (type(self), (self.path, self.problem))


class RuntimeNotAvailable(EventualError, RuntimeError):
    """An operation needs a runtime (engine, client, test environment) and none is active."""


class HttpError(EventualError):
    """Raise from a command or route to answer with an HTTP status.

    Attributes:
        status: The HTTP status code.
        message: Sent to the client as the ``error`` field of the JSON body.
        detail: Optional extra JSON-compatible detail sent as ``detail``.
    """

    def __init__(self, status: int, message: str = "", detail: object = None) -> None:
        super().__init__(f"{status}: {message}" if message else str(status))
        self.status = status
        self.message = message
        self.detail = detail
