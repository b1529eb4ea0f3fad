"""Replay compatibility: histories recorded by earlier versions still replay.

``eventual_engine.conformance.histories`` holds histories recorded from real
runs of the workflows of its ``compat_shop`` module. Each must replay against
the current code without a
``DeterminismError``, making the same calls and reaching the recorded outcome; a
change to the executor or the history format that breaks old executions fails
here. ``EVENTUAL_UPDATE_HISTORIES=1 pytest packages/engine/tests/test_replay_compat.py``
re-records every file: do it to add a scenario, and review the diff, since
rewriting an existing file throws away what it guards.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from eventual import ExecutionStatus, Service
from eventual.codec import JsonValue
from eventual.history import (
    ChildWorkflowScheduled,
    EventsPublished,
    HistoryEvent,
    SignalSent,
    TaskScheduled,
    TimerScheduled,
    WorkflowCancelled,
    WorkflowFailed,
    WorkflowStarted,
    WorkflowSucceeded,
    history_event_from_json,
)
from eventual.spi import ExecutionFilter
from eventual_engine import Engine, ManualClock, MemoryBackend, WorkflowInstance, history_to_json
from eventual_engine.conformance import histories
from eventual_engine.conformance.histories import compat_shop

HISTORIES = histories.FOLDER
SERVICE_NAME = "test_replay_compat"
START = datetime(2026, 1, 1, tzinfo=UTC)


failures_left: dict[str, int] = compat_shop.failures_left
SERVICE = Service.load(compat_shop, name=SERVICE_NAME)

# --- recording ---------------------------------------------------------------------------


class Recorder:
    """One engine on a manual clock, for recording a scenario."""

    def __init__(self) -> None:
        self.clock = ManualClock(START)
        self.engine = Engine(SERVICE, MemoryBackend(), clock=self.clock)

    async def start(self, workflow_name: str, input: JsonValue) -> str:
        """Start an execution named ``recorded`` and settle it."""
        id_ = await self.engine.start_execution(workflow_name, input, "recorded")
        await self.engine.run_until_idle()
        return id_

    async def advance(self, delta: timedelta) -> None:
        """Move the clock, firing due work in time order."""
        await self.engine.advance_to(self.clock.now() + delta)


async def _sequential(r: Recorder) -> None:
    await r.start("sequential_tasks", 3)


async def _gather(r: Recorder) -> None:
    await r.start("gathered_tasks", [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": 2}])


async def _signals(r: Recorder) -> None:
    id_ = await r.start("signals_and_timeouts", None)
    await r.advance(timedelta(minutes=10))
    await r.engine.send_signal(id_, "note", "early")
    await r.engine.send_signal(id_, "approval", True)
    await r.engine.run_until_idle()
    await r.advance(timedelta(minutes=30))  # the second expect times out
    await r.engine.send_signal(id_, "note", "late")
    await r.advance(timedelta(minutes=2))


async def _timers_let_go(r: Recorder) -> None:
    id_ = await r.start("timers_let_go", None)
    await r.advance(timedelta(minutes=10))
    await r.engine.send_signal(id_, "approval", True)
    await r.engine.run_until_idle()
    await r.advance(timedelta(minutes=1))  # the nap is cancelled once this sleep ends
    await r.engine.send_signal(id_, "note", "done")
    await r.engine.run_until_idle()


async def _tasks_started(r: Recorder) -> None:
    failures_left.update({"once": 1})
    await r.start("retried", ["once"])
    await r.advance(timedelta(seconds=30))


async def _child(r: Recorder) -> None:
    await r.start("parent_of_child", 3)


async def _retries(r: Recorder) -> None:
    failures_left.update({"twice": 2, "always": 5})
    await r.start("retried", ["twice", "always"])
    for _ in range(6):
        await r.advance(timedelta(seconds=30))


async def _cancellation(r: Recorder) -> None:
    id_ = await r.start("cancelled_with_cleanup", "lock-1")
    await r.engine.cancel_execution(id_)
    await r.engine.run_until_idle()


async def _publish(r: Recorder) -> None:
    await r.start("publishing", {"sku": "p", "quantity": 4})
    await r.advance(timedelta(seconds=5))


SCENARIOS: dict[str, Callable[[Recorder], Awaitable[None]]] = {
    "sequential": _sequential,
    "gather": _gather,
    "signals_timeout": _signals,
    "child_workflow": _child,
    "retries_backoff": _retries,
    "cancellation": _cancellation,
    "publish": _publish,
    "timers_let_go": _timers_let_go,  # recorded with TimerCancelled
    "tasks_started": _tasks_started,  # recorded with TaskStarted
}


def _file_name(scenario: str, record_name: str, workflow_name: str) -> str:
    return f"{scenario}.json" if record_name == "recorded" else f"{scenario}.{workflow_name}.json"


@pytest.mark.skipif(
    not os.environ.get("EVENTUAL_UPDATE_HISTORIES"),
    reason="set EVENTUAL_UPDATE_HISTORIES=1 to re-record the recorded histories",
)
async def test_update_recorded_histories() -> None:
    """Record every scenario's executions to the recorded histories (run on purpose only)."""
    HISTORIES.mkdir(exist_ok=True)
    for scenario, run in SCENARIOS.items():
        recorder = Recorder()
        await run(recorder)
        page = await recorder.engine.executions(ExecutionFilter(limit=100))
        for record in page.executions:
            assert record.status.done, f"{scenario}: {record.id} is still {record.status}"
            history = await recorder.engine.execution_history(record.id)
            document = {
                "workflow": record.workflow,
                "service": SERVICE_NAME,
                "events": json.loads(history_to_json(record.id, history))["events"],
            }
            path = HISTORIES / _file_name(scenario, record.name, record.workflow)
            path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


# --- replaying ---------------------------------------------------------------------------

_PRODUCED = (
    TaskScheduled,
    TimerScheduled,
    ChildWorkflowScheduled,
    SignalSent,
    EventsPublished,
    WorkflowSucceeded,
    WorkflowFailed,
    WorkflowCancelled,
)
_STATUS = {
    WorkflowSucceeded: ExecutionStatus.SUCCEEDED,
    WorkflowFailed: ExecutionStatus.FAILED,
    WorkflowCancelled: ExecutionStatus.CANCELLED,
}


def _load(path: Path) -> tuple[dict[str, Any], list[HistoryEvent]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return document, [history_event_from_json(e) for e in document["events"]]


def _recorded_files() -> list[Path]:
    return histories.recorded()


def test_every_scenario_has_a_recorded_history() -> None:
    """Each scenario (and the child of the child scenario) has a recorded history file."""
    names = {path.name for path in _recorded_files()}
    assert {f"{scenario}.json" for scenario in SCENARIOS} <= names
    assert "child_workflow.child_sum.json" in names


@pytest.mark.parametrize("path", _recorded_files(), ids=lambda p: p.stem)
def test_recorded_history_replays(path: Path) -> None:
    """A recorded history replays against the current code to the same calls and outcome."""
    document, history = _load(path)
    assert document["service"] == SERVICE_NAME
    started = history[0]
    assert isinstance(started, WorkflowStarted)
    assert started.workflow == document["workflow"]
    ending = history[-1]
    assert isinstance(ending, tuple(_STATUS))

    instance, output = WorkflowInstance.from_history(SERVICE, history)
    assert not output.events
    assert instance.ended
    assert instance.status is _STATUS[type(ending)]
    match ending:
        case WorkflowSucceeded(result=result):
            assert instance.result == result
        case WorkflowFailed(error_type=error_type, message=message):
            assert instance.error == (error_type, message)

    # Fed only the inbound events, the current code must produce the recorded calls again.
    inbound = [e for e in history if not isinstance(e, _PRODUCED)]
    _rerun, rerun = WorkflowInstance.from_history(SERVICE, inbound)
    assert rerun.events == [e for e in history if isinstance(e, _PRODUCED)]
