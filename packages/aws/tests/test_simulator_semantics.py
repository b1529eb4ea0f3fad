"""The engine's workflow semantics (``eventual_engine.conformance``), run on the simulator.

The checks of ``SEMANTICS`` run the suite's service
(``eventual_engine.conformance.workflows``), provisioned on moto, with a harness
whose ``start``, ``advance`` and ``settle`` have the meaning the engine's own
harness gives them, in real time: ``settle`` waits until the functions have
nothing left to do now, and ``advance`` moves the wall clock the handlers read
(``SystemClock.now``) and fires what came due. Timers due in the next seconds
are SQS delays, which pass in real time.

Selected are the checks that need no more than a few seconds of real time
(those waiting on SQS-delayed timers, retry back-off, task and workflow
timeouts or 30-second sleeps run only on the engine); CI runs a subset of them,
``EVENTUAL_SIMULATOR_SEMANTICS=all`` the 24 once and 9 twice. One simulator per
delivery setting serves all of the module's checks (provisioning is most of a
short check's time): the checks name their executions apart, the clock only
moves forward, and each check waits until the functions are idle before it ends.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from eventual import ExecutionHandle, ExecutionStatus, Workflow
from eventual.history import SignalReceived
from eventual.spi import Client, InboundMessage, reset_client, set_client
from eventual_aws import Simulator
from eventual_engine import SystemClock
from eventual_engine.conformance import SEMANTICS, WorkflowCheck, workflows

pytest.importorskip("eventual_aws._lambda")

_prefixes = itertools.count()
_CHECKS = {check.__name__: check for check in SEMANTICS}

ONCE = (
    "sequential_tasks",
    "gather_runs_tasks_together",
    "task_error_carries_type_and_message",
    "non_retryable_fails_at_once",
    "complete_async",
    "fail_task_by_token",
    "signal_received",
    "signal_timeout",
    "signals_kept_until_consumed",
    "signals_behind_continue_as_new_reach_the_next_run",
    "child_workflow",
    "child_failure",
    "cancel_runs_cleanup_and_cancels_children",
    "same_name_same_input_is_idempotent",
    "bad_input_fails_at_start",
)
"""Run with every message delivered once, in CI."""

ONCE_MORE = (
    "plain_def_task_runs_in_a_thread",
    "workflow_exception_fails_execution",
    "heartbeats_keep_task_alive",
    "signal_to_ended_execution_is_discarded",
    "execution_info_and_determinism_helpers",
    "start_child_and_await_handle",
    "structured_input_and_output",
    "unserialisable_result_fails_clearly",
    "unknown_workflow_and_execution",
)
"""Also pass on the simulator; run with ``EVENTUAL_SIMULATOR_SEMANTICS=all`` (CI time)."""

TWICE = (
    "complete_async",
    "signal_received",
    "signal_timeout",
    "signals_behind_continue_as_new_reach_the_next_run",
    "cancel_runs_cleanup_and_cancels_children",
)
"""Run with every message delivered twice, in CI: a task completed from outside,
signals (also behind a continue-as-new), a timer through Scheduler, cancellation of
a parent and its child."""

TWICE_MORE = (
    "child_workflow",
    "sequential_tasks",
    "gather_runs_tasks_together",
    "same_name_same_input_is_idempotent",
)
"""Also pass with duplicates, slowly (held-back duplicates of task messages keep the
queues busy until they come back); run with ``EVENTUAL_SIMULATOR_SEMANTICS=all``."""

_ALL = os.environ.get("EVENTUAL_SIMULATOR_SEMANTICS") == "all"


class _Clock:
    """Moves the wall clock every handler reads, by patching ``SystemClock.now``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta(0)
        real: Callable[[SystemClock], datetime] = SystemClock.now

        def now(clock: SystemClock) -> datetime:
            return real(clock) + self.offset

        monkeypatch.setattr(SystemClock, "now", now)


class SimulatedHarness:
    """The semantics' ``WorkflowHarness`` in real time on the simulator."""

    def __init__(self, simulator: Simulator, clock: _Clock) -> None:
        self.simulator = simulator
        self.clock = clock

    @property
    def client(self) -> Client:
        """The simulator's client."""
        return self.simulator.client

    async def start(
        self, workflow: Workflow[Any, Any], input: Any, name: str | None = None
    ) -> ExecutionHandle[Any]:
        """Start an execution and let the work that needs no time finish."""
        handle = await self.simulator.start(workflow, input, name)
        await self.settle()
        return handle

    async def advance(self, delta: timedelta) -> None:
        """Move the clock by ``delta``, then let what came due run."""
        self.clock.offset += delta
        await self.settle()

    async def settle(self) -> None:
        """Wait until the functions have nothing left to do now."""
        await self.simulator.settle()


@pytest.fixture(scope="module")
def clock() -> Iterator[_Clock]:
    """The handlers' wall clock for the whole module: it only ever moves forward."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield _Clock(monkeypatch)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def simulators(endpoint: str) -> AsyncIterator[dict[bool, Simulator]]:
    """The suite's service on moto, shared by the module: every message delivered once, twice."""
    async with contextlib.AsyncExitStack() as stack:
        yield {
            twice: await stack.enter_async_context(
                Simulator(
                    workflows.__name__,
                    endpoint_url=endpoint,
                    prefix=f"sem{next(_prefixes)}",
                    duplicate_deliveries=twice,
                )
            )
            for twice in (False, True)
        }


CASES = [
    pytest.param(_CHECKS[name], twice, id=f"{name}-{'twice' if twice else 'once'}")
    for twice, names in (
        (False, ONCE + (ONCE_MORE if _ALL else ())),
        (True, TWICE + (TWICE_MORE if _ALL else ())),
    )
    for name in names
]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("check", "twice"), CASES)
async def test_engine_semantics_hold_on_the_simulator(
    check: WorkflowCheck, twice: bool, simulators: dict[bool, Simulator], clock: _Clock
) -> None:
    """Each selected workflow-semantics check of the engine passes on the AWS runtime."""
    workflows.reset()
    simulator = simulators[twice]
    token = set_client(simulator.client)  # the ambient client of the test's own task
    try:
        await check(SimulatedHarness(simulator, clock))
    finally:
        reset_client(token)


async def _queue_note(simulator: Simulator, execution_id: str, message_id: str, text: str) -> None:
    """Queue signal ``note`` under a given message id, as a producer writing it again does."""
    client = simulator.client
    event = SignalReceived(
        timestamp=client.now(), signal=workflows.note.name, payload=text, id=message_id
    )
    await client.backend.queue.enqueue(
        [InboundMessage(id=message_id, execution_id=execution_id, event=event)]
    )
    await simulator.settle()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("twice", [False, True], ids=["once", "twice"])
async def test_a_repeat_after_continue_as_new_is_ignored_on_the_simulator(
    twice: bool, simulators: dict[bool, Simulator], clock: _Clock
) -> None:
    """A signal run 1 applied, queued again once run 2 runs, is not applied by run 2.

    The semantics' harness cannot queue a message under an id of its choosing
    (the client gives every send a new one), so the repeat, as a split step's
    remainder written again would queue it, goes through the backend's queue.
    """
    workflows.reset()
    simulator = simulators[twice]
    handle = await simulator.start(workflows.relay, 1, f"repeat-{'twice' if twice else 'once'}")
    await simulator.settle()
    message_id = f"signal|repeat-{twice}"
    await _queue_note(simulator, handle.id, message_id, "first")
    assert (await simulator.client.execution_record(handle.id)).run == 2
    await _queue_note(simulator, handle.id, message_id, "first")  # the repeat
    assert await handle.status() is ExecutionStatus.RUNNING
    await handle.signal(workflows.note, "second")
    await simulator.settle()
    assert await handle.result() == "second"
