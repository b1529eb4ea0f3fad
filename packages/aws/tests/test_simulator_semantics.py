"""The engine's workflow-semantics tests, run on the simulator: same results as on SQLite.

``packages/engine/tests/test_workflows.py`` is loaded by path (test modules of two
distributions cannot import each other under ``--import-mode=importlib``) and
its service is provisioned on moto; each selected test function is then called
with a harness whose ``start``, ``advance`` and ``engine`` have the meaning the
engine's own harness gives them, in real time: ``run_until_idle`` waits until
the functions have nothing left to do now, and ``advance`` moves the wall clock
the handlers read (``SystemClock.now``) and fires what came due. Timers due in
the next seconds are SQS delays, which pass in real time.

Selected are the tests that need no more than a few seconds of real time
(those waiting on SQS-delayed timers, retry back-off, task and workflow
timeouts, 30-second sleeps, or reading the in-process engine's outbox stay with
the engine's suite); CI runs a subset of them, ``EVENTUAL_SIMULATOR_SEMANTICS=all``
the 23 once and 9 twice.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from eventual import ExecutionHandle, Workflow
from eventual_aws import Simulator
from eventual_engine import SystemClock

pytest.importorskip("eventual_aws._lambda")

ENGINE_TESTS = Path(__file__).resolve().parents[2] / "engine" / "tests" / "test_workflows.py"
MODULE = "engine_workflow_semantics"
_prefixes = itertools.count()

ONCE = (
    "test_sequential_tasks",
    "test_gather_runs_tasks_together",
    "test_task_error_carries_type_and_message",
    "test_non_retryable_fails_at_once",
    "test_complete_async",
    "test_fail_task_by_token",
    "test_signal_received",
    "test_signal_timeout",
    "test_signals_kept_until_consumed",
    "test_child_workflow",
    "test_child_failure",
    "test_cancel_runs_cleanup_and_cancels_children",
    "test_same_name_same_input_is_idempotent",
    "test_bad_input_fails_at_start",
)
"""Run with every message delivered once, in CI."""

ONCE_MORE = (
    "test_plain_def_task_runs_in_a_thread",
    "test_workflow_exception_fails_execution",
    "test_heartbeats_keep_task_alive",
    "test_signal_to_ended_execution_is_discarded",
    "test_execution_info_and_determinism_helpers",
    "test_start_child_and_await_handle",
    "test_structured_input_and_output",
    "test_unserialisable_result_fails_clearly",
    "test_unknown_workflow_and_execution",
)
"""Also pass on the simulator; run with ``EVENTUAL_SIMULATOR_SEMANTICS=all`` (CI time)."""

TWICE = (
    "test_complete_async",
    "test_signal_received",
    "test_signal_timeout",
    "test_cancel_runs_cleanup_and_cancels_children",
)
"""Run with every message delivered twice, in CI: a task completed from outside,
signals, a timer through Scheduler, cancellation of a parent and its child."""

TWICE_MORE = (
    "test_child_workflow",
    "test_sequential_tasks",
    "test_gather_runs_tasks_together",
    "test_same_name_same_input_is_idempotent",
)
"""Also pass with duplicates, slowly (held-back duplicates of task messages keep the
queues busy until they come back); run with ``EVENTUAL_SIMULATOR_SEMANTICS=all``."""

_ALL = os.environ.get("EVENTUAL_SIMULATOR_SEMANTICS") == "all"


def _engine_tests() -> ModuleType:
    loaded = sys.modules.get(MODULE)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(MODULE, ENGINE_TESTS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    spec.loader.exec_module(module)
    return module


class _Clock:
    """Moves the wall clock every handler reads, by patching ``SystemClock.now``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta(0)
        real: Callable[[SystemClock], datetime] = SystemClock.now

        def now(clock: SystemClock) -> datetime:
            return real(clock) + self.offset

        monkeypatch.setattr(SystemClock, "now", now)

    def now(self) -> datetime:
        return SystemClock().now()


class _Engine:
    """What the engine's tests read from ``h.engine``: the simulator's client, and settling."""

    def __init__(self, simulator: Simulator, clock: _Clock) -> None:
        self._simulator = simulator
        self.clock = clock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._simulator.client, name)

    async def run_until_idle(self) -> None:
        await self._simulator.settle()


class SimulatedHarness:
    """The engine's ``Harness`` in real time on the simulator."""

    def __init__(self, simulator: Simulator, clock: _Clock) -> None:
        self.simulator = simulator
        self.clock = clock
        self.engine = _Engine(simulator, clock)

    async def start(
        self, workflow: Workflow[Any, Any], input: Any, name: str | None = None
    ) -> ExecutionHandle[Any]:
        """Start an execution and let the work that needs no time finish."""
        handle = await self.simulator.start(workflow, input, name)
        await self.simulator.settle()
        return handle

    async def advance(self, delta: timedelta) -> None:
        """Move the clock by ``delta``, then let what came due run."""
        self.clock.offset += delta
        await self.simulator.settle()

    async def history_types(self, handle: ExecutionHandle[Any]) -> list[str]:
        """Return the types of the execution's history events."""
        return [e.type for e in await handle.history()]


@pytest.fixture(scope="module")
def engine_tests() -> Iterator[ModuleType]:
    """The engine's test module, importable by name so the handlers load its service."""
    yield _engine_tests()
    sys.modules.pop(MODULE, None)


CASES = [
    pytest.param(name, twice, id=f"{name.removeprefix('test_')}-{'twice' if twice else 'once'}")
    for twice, names in (
        (False, ONCE + (ONCE_MORE if _ALL else ())),
        (True, TWICE + (TWICE_MORE if _ALL else ())),
    )
    for name in names
]


@pytest.mark.parametrize(("name", "twice"), CASES)
async def test_engine_semantics_hold_on_the_simulator(
    name: str,
    twice: bool,
    endpoint: str,
    engine_tests: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each selected workflow-semantics test of the engine passes on the AWS runtime."""
    engine_tests.calls.clear()
    clock = _Clock(monkeypatch)
    simulator = Simulator(
        MODULE,
        endpoint_url=endpoint,
        prefix=f"sem{next(_prefixes)}",
        duplicate_deliveries=twice,
    )
    async with simulator:
        await getattr(engine_tests, name)(SimulatedHarness(simulator, clock))
