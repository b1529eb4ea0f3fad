"""Errors the test environment raises instead of waiting for ever."""

from __future__ import annotations

from datetime import datetime

from eventual import EventualError

__all__ = ["ExecutionStillRunning"]


class ExecutionStillRunning(EventualError):
    """``await handle.result()`` found the execution unfinished after settling all work.

    On a virtual clock nothing happens unless the test makes it happen, so waiting
    would never end: the test must first move the clock (``env.advance``), send a
    signal, or finish a task that completes asynchronously.

    Attributes:
        execution_id: The execution that is still running.
        next_due: When the earliest timer, delayed task attempt or subscription
            retry of the environment is due, or ``None`` when nothing is scheduled
            (the execution waits for something only the test can bring).
    """

    def __init__(self, message: str, *, execution_id: str, next_due: datetime | None) -> None:
        super().__init__(message)
        self.execution_id = execution_id
        self.next_due = next_due
