"""Endings: the named reason an execution ended, and what ending writes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from eventual import ExecutionStatus, Service, workflow
from eventual.history import (
    ChildWorkflowFailed,
    WorkflowCancelRequested,
    WorkflowStarted,
    WorkflowTimedOut,
)
from eventual_engine import WorkflowInstance
from eventual_engine._executor._calls import Call, TaskCall, TimerCall
from eventual_engine._executor._ending import Ending, write_ending
from eventual_engine._executor._output import StepOutput

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@workflow
async def refuses(x: int) -> int:
    raise ValueError(f"no {x}")


SERVICE = Service.from_definitions("ending", [refuses])


def test_a_failing_workflow_ends_with_its_error_named() -> None:
    """An exception in workflow code becomes a FAILED ending with its type and message."""
    started = WorkflowStarted(
        timestamp=NOW, execution_id="refuses/a", workflow="refuses", name="a", input=3, seed=1
    )
    instance, _ = WorkflowInstance.from_history(SERVICE, [started])
    assert instance.ending == Ending.failed("ValueError", "no 3")
    assert instance.status is ExecutionStatus.FAILED
    assert instance.error == ("ValueError", "no 3")


def test_each_reason_has_its_status_and_error() -> None:
    """Success carries a result; the other endings an error type and message."""
    assert Ending.succeeded(5).error is None
    assert Ending.succeeded(5).result == 5
    assert Ending.cancelled().error == ("CancelledError", "the execution was cancelled")
    timed_out = Ending.timed_out("w")
    assert timed_out.status is ExecutionStatus.TIMED_OUT
    assert timed_out.error == ("Timeout", "workflow 'w' exceeded its timeout")


async def test_a_timed_out_child_cancels_its_work_and_tells_its_parent() -> None:
    """Its timers and attempts are cancelled, its children too, and its parent learns why."""
    started = WorkflowStarted(
        timestamp=NOW,
        execution_id="w/c",
        workflow="w",
        name="c",
        input=None,
        parent_id="p/a",
        parent_seq=2,
        seed=1,
    )
    out = StepOutput()
    later = NOW + timedelta(hours=1)
    timed_out = WorkflowTimedOut(timestamp=later)
    calls: dict[int, Call] = {
        1: TimerCall(seq=1, fire=lambda: None),
        2: TaskCall(
            seq=2, future=asyncio.get_running_loop().create_future(), task="t", args=[], attempt=3
        ),
    }
    write_ending(
        out,
        Ending.timed_out("w"),
        started=started,
        now=later,
        event=timed_out,
        calls=calls,
        children=["x/g"],
    )
    assert out.events == [timed_out]
    assert out.cancel_timers == [
        "w/c|workflow_timeout|0|0",
        "w/c|timer|1|0",
        "w/c|task_timeout|2|3",
        "w/c|heartbeat|2|3",
    ]
    assert out.forget_tasks == ["w/c|2|3"]
    cancel, outcome = out.messages
    assert (cancel.id, cancel.execution_id) == ("w/c|cancel|x/g", "x/g")
    assert cancel.event == WorkflowCancelRequested(
        timestamp=later, reason="parent TIMED_OUT", id="w/c|cancel|x/g"
    )
    assert (outcome.id, outcome.execution_id) == ("w/c|outcome", "p/a")
    assert outcome.event == ChildWorkflowFailed(
        timestamp=later, seq=2, error_type="Timeout", message="workflow 'w' exceeded its timeout"
    )
