"""Durable calls waiting for their completion, one class per kind, and how to name them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

import attrs

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

__all__ = ["Call", "ChildCall", "InWorkflowControl", "TaskCall", "TimerCall", "describe"]


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


@attrs.define(kw_only=True)
class TaskCall:
    """A task call: its attempt moves on with each retry.

    Attributes:
        seq: The call's sequence number.
        future: What the workflow awaits: the result, or the final error.
        task: The task's name.
        args: Its JSON arguments, sent again with each attempt.
        attempt: The attempt that may complete it (1 for the first).
    """

    seq: int
    future: asyncio.Future[JsonValue]
    task: str
    args: list[JsonValue]
    attempt: int = 1


@attrs.define(kw_only=True)
class TimerCall:
    """A durable timer of the workflow's loop.

    Attributes:
        seq: The call's sequence number.
        fire: Runs the loop callback the timer stands for.
    """

    seq: int
    fire: Callable[[], None]


@attrs.define(kw_only=True)
class ChildCall:
    """A child execution started by the workflow.

    Attributes:
        seq: The call's sequence number.
        child_id: The child's execution id.
        future: What the workflow awaits when it runs the child (``await wf(x)``);
            None for a child started without waiting (``wf.start(x)``).
    """

    seq: int
    child_id: str
    future: asyncio.Future[JsonValue] | None


Call = TaskCall | TimerCall | ChildCall
"""A durable call waiting for its completion."""


class _Reach(Protocol):
    """What a handle inside a workflow reaches of its instance."""

    async def child_result(self, child_id: str) -> JsonValue: ...

    async def send_signal(self, execution_id: str, signal: str, payload: JsonValue) -> None: ...


class InWorkflowControl:
    """What an ``ExecutionHandle`` can do from inside workflow code."""

    def __init__(self, owner: _Reach) -> None:
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
