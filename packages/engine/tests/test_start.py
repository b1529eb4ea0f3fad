"""New executions: one description for a start and a child start, and the clash message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eventual import ExecutionStatus, workflow
from eventual.history import ChildWorkflowFailed, WorkflowStarted
from eventual_engine import clash_message
from eventual_engine._start import new_execution

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@workflow(timeout=timedelta(hours=1))
async def bounded(x: int) -> int:
    return x


@workflow
async def unbounded(x: int) -> int:
    return x


def test_a_start_describes_record_first_event_and_timeout_timer() -> None:
    """A workflow with a timeout gets a running record, its first event and a timeout timer."""
    start = new_execution(bounded, "a", 1, now=NOW)
    assert start.record.id == start.started.execution_id == "bounded/a"
    assert start.record.status is ExecutionStatus.RUNNING
    assert start.record.started_at == start.started.timestamp == NOW
    assert start.started.timeout_at == NOW + timedelta(hours=1)
    (timer,) = start.timers
    assert (timer.id, timer.kind, timer.due) == (
        "bounded/a|workflow_timeout|0|0",
        "workflow_timeout",
        NOW + timedelta(hours=1),
    )
    assert new_execution(unbounded, "a", 1, now=NOW).timers == ()


def test_a_child_start_differs_only_by_its_parent() -> None:
    """A child is described like a start, with its parent and the parent's call."""
    top = new_execution(bounded, "a", 1, now=NOW)
    child = new_execution(bounded, "a", 1, now=NOW, parent_id="p/x", parent_seq=3)
    assert (child.started.parent_id, child.started.parent_seq) == ("p/x", 3)
    assert child.record.parent_id == "p/x"
    assert child.started.seed == top.started.seed
    assert child.timers == top.timers


def test_a_clash_fails_the_parents_call() -> None:
    """A child id taken with another input becomes ChildWorkflowFailed for the parent's call."""
    existing = new_execution(unbounded, "c", 1, now=NOW).record
    child = new_execution(unbounded, "c", 2, now=NOW, parent_id="p/x", parent_seq=4).started
    message = clash_message(existing, child)
    assert message is not None
    assert message.id == "unbounded/c|clash|p/x"
    assert message.execution_id == "p/x"
    assert isinstance(message.event, ChildWorkflowFailed)
    assert (message.event.seq, message.event.error_type) == (4, "ExecutionAlreadyExists")
    started: WorkflowStarted = new_execution(unbounded, "c", 2, now=NOW).started
    assert clash_message(existing, started) is None
