"""The engine's workflow semantics (``eventual_engine.conformance.SEMANTICS``) on PostgreSQL.

Every check runs the suite's service (``eventual_engine.conformance.workflows``)
on ``Engine`` with the ``postgres`` backend and a manual clock, as the engine's
own tests run it on the in-memory and SQLite backends: on the server the test
session starts, each check in a fresh schema, so no check sees another's
executions.

Each check runs twice: on one engine, with the engine's own harness
(``run_until_idle``, ``advance_to``), and on two engines sharing the schema as
two processes share a database. There executions start on the first engine,
the check's client (signals, cancellations, completions, status) is the
second, both run the work that needs no time at once until neither finds any,
and neither leaves an execution to the process that stepped it last
(``affinity`` 0), so each takes the other's executions, tasks and timers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eventual import ExecutionHandle, ExecutionStatus, Workflow
from eventual.history import SignalReceived
from eventual.spi import InboundMessage
from eventual_engine import Engine, ManualClock
from eventual_engine.conformance import SEMANTICS, WorkflowCheck, workflows
from eventual_postgres import PostgresBackend

START = datetime(2026, 1, 1, tzinfo=UTC)

_ROUNDS = 20
"""Most rounds of a two-engine ``settle``; more means the engines stopped taking work."""


class Harness:
    """Starts executions on the first engine and moves the clock all engines share."""

    def __init__(self, engines: list[Engine], clock: ManualClock) -> None:
        self.engines = engines
        self.clock = clock
        self.client = engines[-1]

    async def start(
        self, workflow: Workflow[Any, Any], input: Any, name: str | None = None
    ) -> ExecutionHandle[Any]:
        """Start an execution and settle the work that needs no time."""
        id_ = await self.engines[0].start_execution(
            workflow.name, workflow.encode_input(input), name
        )
        await self.settle()
        return ExecutionHandle(id_, control=self.client, result_type=workflow.output_type)

    async def advance(self, delta: timedelta) -> None:
        """Move the clock by ``delta``, firing due work in time order."""
        when = self.clock.now() + delta
        if len(self.engines) == 1:
            await self.engines[0].advance_to(when)
            return
        # Engine.advance_to, with every engine settling at each instant.
        await self.settle()
        while (due := await self._next_due()) is not None and due <= when:
            self.clock.set(max(due, self.clock.now()))
            await self.settle()
        self.clock.set(when)
        await self.settle()

    async def settle(self) -> None:
        """Run what needs no time, on every engine at once, until none is left."""
        if len(self.engines) == 1:
            await self.engines[0].run_until_idle()
            return
        # One engine's run_until_idle leaves alone what the other has claimed;
        # a full engine may put a new execution back for the other.
        backend = self.engines[0].backend
        for _ in range(_ROUNDS):
            await asyncio.gather(*(engine.run_until_idle() for engine in self.engines))
            due = await self._next_due()
            if not await backend.queue.pending() and (due is None or due > self.clock.now()):
                return
        raise AssertionError(f"work was still due after {_ROUNDS} rounds of every engine")

    async def _next_due(self) -> datetime | None:
        """When the earliest timer or unclaimed task attempt is due, or None."""
        backend = self.engines[0].backend
        due = [
            when
            for when in (await backend.timers.next_due(), await backend.tasks.next_ready())
            if when is not None
        ]
        return min(due, default=None)


@pytest.fixture(params=[1, 2], ids=["one-engine", "two-engines"])
async def h(
    request: pytest.FixtureRequest, postgres_dsn: str, schema: str
) -> AsyncIterator[Harness]:
    """Engines on one fresh schema, running the suite's service on one manual clock."""
    workflows.reset()
    clock = ManualClock(START)
    backends: list[PostgresBackend] = []
    try:
        for _ in range(request.param):
            backend = PostgresBackend(
                postgres_dsn, schema=schema, pool_size=4, affinity=timedelta(0)
            )
            backends.append(await backend.open())
        yield Harness([Engine(workflows.SERVICE, b, clock=clock) for b in backends], clock)
    finally:
        for backend in backends:
            await backend.close()


@pytest.mark.parametrize("check", SEMANTICS, ids=lambda check: check.__name__)
async def test_workflow_semantics(h: Harness, check: WorkflowCheck) -> None:
    """The engine on the PostgreSQL backend keeps every promise of the workflow semantics."""
    await check(h)


async def test_a_repeat_after_continue_as_new_is_ignored(h: Harness) -> None:
    """A signal run 1 applied, queued again once run 2 runs, is not applied by run 2.

    The client gives every send a new id, so the repeat, as a producer writing
    the message again would queue it, goes through the backend's queue.
    """
    handle = await h.start(workflows.relay, 1, "repeat")
    backend = h.engines[0].backend

    async def note(message_id: str, text: str) -> None:
        event = SignalReceived(
            timestamp=h.clock.now(), signal=workflows.note.name, payload=text, id=message_id
        )
        await backend.queue.enqueue(
            [InboundMessage(id=message_id, execution_id=handle.id, event=event)]
        )
        await h.settle()

    await note("signal|first", "first")
    assert (await h.client.execution_record(handle.id)).run == 2
    await note("signal|first", "first")  # the repeat
    assert await handle.status() is ExecutionStatus.RUNNING
    await note("signal|second", "second")
    assert await handle.result() == "second"
