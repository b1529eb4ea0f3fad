"""Workflow semantics end to end: engine, orchestrator, executor, each backend.

The checks of ``eventual_engine.conformance.SEMANTICS`` run here on ``Engine``
with the in-memory and SQLite backends and a manual clock; eventual-aws runs
them on its simulator. The tests below them read what only an engine in this
process shows (its outbox, its running task attempts).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from eventual import ExecutionHandle, ExecutionStatus, Workflow
from eventual.history import EventsPublished
from eventual_engine import Engine
from eventual_engine.conformance import SEMANTICS, WorkflowCheck, workflows
from eventual_engine.conformance.workflows import (
    Item,
    flaky_failures,
    interrupted,
    publisher,
    retrying,
    runs_a_blocking_task,
)


class Harness:
    """Starts executions and moves the manual clock of one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.client = engine

    async def start(
        self, workflow: Workflow[Any, Any], input: Any, name: str | None = None
    ) -> ExecutionHandle[Any]:
        """Start an execution and settle the work that needs no time."""
        id_ = await self.engine.start_execution(workflow.name, workflow.encode_input(input), name)
        await self.engine.run_until_idle()
        return ExecutionHandle(id_, control=self.engine, result_type=workflow.output_type)

    async def advance(self, delta: timedelta) -> None:
        """Move the clock by ``delta``, firing due work in time order."""
        await self.engine.advance_to(self.engine.clock.now() + delta)

    async def settle(self) -> None:
        """Run what needs no time."""
        await self.engine.run_until_idle()


@pytest.fixture
def h(any_engine_factory: Any) -> Harness:
    workflows.reset()
    return Harness(any_engine_factory(workflows.SERVICE))


@pytest.mark.parametrize("check", SEMANTICS, ids=lambda check: check.__name__)
async def test_workflow_semantics(h: Harness, check: WorkflowCheck) -> None:
    """The engine keeps every promise of the workflow semantics, on each backend."""
    await check(h)


async def test_publish_recorded(h: Harness) -> None:
    """Events published by a workflow are recorded in history and put in the outbox."""
    handle = await h.start(publisher, Item("a", 1))
    await handle.result()
    published = [e for e in await handle.history() if isinstance(e, EventsPublished)]
    assert [p.payload for p in published[0].events] == [
        {"sku": "a", "quantity": 1},
        {"sku": "b", "quantity": 2},
    ]
    outbox = await h.engine.backend.published(10)
    assert [e.name for _, e in outbox] == ["placed", "placed"]


async def test_cancel_forgets_a_task_waiting_for_its_retry(h: Harness) -> None:
    """A retry waiting out its back-off does not run once its execution is cancelled."""
    flaky_failures["cancelled"] = 5
    handle = await h.start(retrying, "cancelled")
    assert flaky_failures["cancelled"] == 4  # the first attempt failed; a retry waits 10 s
    assert await h.engine.backend.tasks.pending() == 1
    await handle.cancel()
    await h.engine.run_until_idle()
    assert await handle.status() is ExecutionStatus.CANCELLED
    assert await h.engine.backend.tasks.pending() == 0
    await h.advance(timedelta(minutes=5))
    assert flaky_failures["cancelled"] == 4  # the retry never ran
    assert h.engine.tasks.attempts == 1


async def test_cancel_stops_a_running_attempt_in_this_process(h: Harness) -> None:
    """An attempt still running when its execution is cancelled is cancelled too."""
    interrupted.clear()
    engine = h.engine
    id_ = await engine.start_execution(runs_a_blocking_task.name, "b", "blocked")
    await asyncio.sleep(0)  # the attempt starts
    assert len(engine.tasks.running) == 1
    await engine.cancel_execution(id_)
    await asyncio.wait_for(engine.run_until_idle(), 10)
    assert await engine.execution_status(id_) is ExecutionStatus.CANCELLED
    assert interrupted == ["b"]
    assert not engine.tasks.running
