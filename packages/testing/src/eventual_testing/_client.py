"""The ambient client of a test environment.

It is the engine's client with one difference: waiting for a result first does
all work that needs no time to pass and then, instead of waiting for a virtual
clock that nobody moves, either returns the result or raises
:class:`ExecutionStillRunning` naming what the execution waits for. A failed
execution's ``WorkflowFailed`` carries a note with the history around the failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventual import ExecutionStatus, WorkflowFailed
from eventual.codec import JsonValue
from eventual.history import ExecutionRecord, HistoryEvent
from eventual_engine import Engine

from ._errors import ExecutionStillRunning
from ._explain import failure_note, open_calls

__all__ = ["EnvironmentClient", "next_due"]


async def next_due(engine: Engine) -> datetime | None:
    """Return when the engine's next timer, delayed task attempt or delivery is due."""
    candidates = [
        await engine.backend.timers.next_due(),
        await engine.backend.tasks.next_ready(),
    ]
    if engine.subscriptions is not None:
        candidates.append(await engine.subscriptions.next_due())
    return min((c for c in candidates if c is not None), default=None)


class EnvironmentClient:
    """Implements ``eventual.spi.Client`` for code running inside a test environment."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def now(self) -> datetime:
        """Return the virtual clock's time."""
        return self._engine.now()

    async def start_execution(
        self, workflow: str, input: JsonValue, name: str | None, *, parent_id: str | None = None
    ) -> str:
        """Start an execution (see ``Client``)."""
        return await self._engine.start_execution(workflow, input, name, parent_id=parent_id)

    async def publish_events(self, events: Sequence[tuple[str, JsonValue]]) -> None:
        """Publish events to the environment's bus (see ``Client``)."""
        await self._engine.publish_events(events)

    async def complete_task(self, token: str, result: JsonValue) -> None:
        """Finish an asynchronously completed task (see ``Client``)."""
        await self._engine.complete_task(token, result)

    async def fail_task(self, token: str, error_type: str, message: str) -> None:
        """Fail an asynchronously completed task (see ``Client``)."""
        await self._engine.fail_task(token, error_type, message)

    async def execution_status(self, execution_id: str) -> ExecutionStatus:
        """Return the execution's status as it is now (nothing is settled first)."""
        return await self._engine.execution_status(execution_id)

    async def execution_history(self, execution_id: str) -> list[HistoryEvent]:
        """Return the execution's history."""
        return await self._engine.execution_history(execution_id)

    async def cancel_execution(self, execution_id: str) -> None:
        """Ask the execution to cancel (see ``Client``)."""
        await self._engine.cancel_execution(execution_id)

    async def send_signal(self, execution_id: str, signal: str, payload: JsonValue) -> None:
        """Send a signal (see ``Client``)."""
        await self._engine.send_signal(execution_id, signal, payload)

    async def run_task(self, task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run a task called outside any workflow (a command's, say) through its stand-in.

        So a mock applies there too. The arguments go through the task's JSON
        encoding first, as they would to a worker, so the mock records the same
        ``call`` either way.
        """
        definition = self._engine.service.tasks.get(task.name, task)
        if definition is task:
            return await task.run(*args, **kwargs)
        args_list, kwargs_dict = definition.decode_args(task.encode_args(args, kwargs))
        return await definition.run(*args_list, **kwargs_dict)

    async def execution_result(self, execution_id: str) -> JsonValue:
        """Settle all work, then return the result or raise.

        Raises:
            WorkflowFailed: The execution failed, timed out or was cancelled; a
                note shows its history around the failure.
            ExecutionStillRunning: The execution needs virtual time to pass, or
                waits for something only the test can bring.
        """
        await self._engine.run_until_idle()
        record = await self._engine.execution_record(execution_id)
        if record.status is ExecutionStatus.SUCCEEDED:
            return record.result
        history = await self._engine.execution_history(execution_id)
        if record.status.done:
            error = WorkflowFailed(
                record.error_type or record.status.value, record.message or record.status.value
            )
            error.add_note(failure_note(record, history))
            raise error
        raise await self._still_running(record, history)

    async def _still_running(
        self, record: ExecutionRecord, history: list[HistoryEvent]
    ) -> ExecutionStillRunning:
        now = self._engine.now()
        due = await next_due(self._engine)
        waiting = open_calls(history)
        waits = "; it waits for: " + ", ".join(waiting) if waiting else ""
        if due is not None:
            message = (
                f"execution {record.id!r} is still running at {now.isoformat()} (virtual time) "
                f"and needs time to pass: the next timer is due at {due.isoformat()}, "
                f"in {due - now}{waits}. Move the clock first, e.g. "
                f"`await env.advance(timedelta(seconds={(due - now).total_seconds():g}))` or "
                "`await env.advance_to(...)`"
            )
        else:
            message = (
                f"execution {record.id!r} is still running at {now.isoformat()} (virtual time) "
                f"and no timer is set{waits}. Nothing will change unless the test does "
                "something: send a signal, finish a task with env.complete_task/env.fail_task, "
                "or publish an event"
            )
        return ExecutionStillRunning(message, execution_id=record.id, next_due=due)
