"""The bookkeeping of durable calls: descriptions and pending-call records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from eventual import EventualError, ExecutionStatus
from eventual.codec import JsonValue
from eventual.history import (
    ChildWorkflowScheduled,
    EventsPublished,
    HistoryEvent,
    SignalSent,
    TaskScheduled,
    TimerScheduled,
)

if TYPE_CHECKING:
    from ._instance import WorkflowInstance

__all__ = ["CallKind", "describe"]

CallKind = Literal["task", "timer", "child"]


def describe(event: HistoryEvent) -> str:
    """Name a scheduled call for a determinism report."""
    match event:
        case TaskScheduled(task=name):
            return f"task {name!r}"
        case TimerScheduled():
            return "a timer"
        case ChildWorkflowScheduled(workflow=name):
            return f"child workflow {name!r}"
        case SignalSent(signal=name, execution_id=target):
            return f"signal {name!r} to {target!r}"
        case EventsPublished(events=events):
            return f"publish {[e.name for e in events]}"
    return type(event).__name__


class Call:
    """A durable call waiting for its completion."""

    __slots__ = ("args", "attempt", "child_id", "fire", "future", "kind", "seq", "task")

    def __init__(self, seq: int, kind: CallKind, future: asyncio.Future[Any] | None) -> None:
        self.seq = seq
        self.kind = kind
        self.future = future
        self.attempt = 1
        self.task = ""
        self.args: list[JsonValue] = []
        self.child_id = ""
        self.fire: Callable[[], None] | None = None


class Handler:
    def __init__(self, owner: WorkflowInstance, signal: str, fn: Callable[[JsonValue], object]):
        self._owner = owner
        self.signal = signal
        self.fn = fn

    def dispose(self) -> None:
        handlers = self._owner.handlers_of(self.signal)
        if self in handlers:
            handlers.remove(self)


class InWorkflowControl:
    """What an ``ExecutionHandle`` can do from inside workflow code."""

    def __init__(self, owner: WorkflowInstance) -> None:
        self._owner = owner

    async def execution_status(self, execution_id: str) -> ExecutionStatus:
        raise EventualError("status() is not deterministic inside a workflow; await result()")

    async def execution_result(self, execution_id: str) -> JsonValue:
        return await self._owner.child_result(execution_id)

    async def execution_history(self, execution_id: str) -> list[HistoryEvent]:
        raise EventualError("history() cannot be read inside a workflow")

    async def cancel_execution(self, execution_id: str) -> None:
        raise EventualError("cancelling another execution from a workflow is not supported yet")

    async def send_signal(self, execution_id: str, signal: str, payload: JsonValue) -> None:
        await self._owner.send_signal(execution_id, signal, payload)
