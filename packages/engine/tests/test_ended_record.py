"""The record of an ended execution keeps everything that identifies the execution."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from eventual import ExecutionStatus
from eventual.history import ExecutionRecord
from eventual_engine._executor import ended_record

OUTCOME = {"status", "ended_at", "result", "error_type", "message", "run", "run_start"}
STARTED = datetime(2026, 1, 1, tzinfo=UTC)
ENDED = datetime(2026, 1, 2, tzinfo=UTC)


def test_an_ended_record_carries_every_field_that_is_not_the_outcome() -> None:
    """Each field of a running record but the outcome (task key included) survives its end."""
    base = ExecutionRecord(
        id="orders/o-1",
        workflow="orders",
        name="o-1",
        status=ExecutionStatus.RUNNING,
        input={"n": 1},
        input_digest="digest",
        parent_id="batch/b-1",
        started_at=STARTED,
        task_key="secret",
        run=3,
        run_start=17,
    )
    ended = ended_record(
        base,
        ExecutionStatus.FAILED,
        ENDED,
        error_type="DeterminismError",
        message="replay differs",
        run=3,
        run_start=17,
    )
    for field in attrs.fields(ExecutionRecord):
        if field.name not in OUTCOME:
            assert getattr(ended, field.name) == getattr(base, field.name), field.name
    assert (ended.status, ended.ended_at, ended.result) == (ExecutionStatus.FAILED, ENDED, None)
    assert (ended.error_type, ended.message) == ("DeterminismError", "replay differs")
    assert (ended.run, ended.run_start) == (3, 17)


def test_an_execution_failing_on_a_later_run_keeps_pointing_at_that_run() -> None:
    """Without a run given (a determinism failure), the ended record keeps the base's run."""
    base = ExecutionRecord(
        id="billing/acme",
        workflow="billing",
        name="acme",
        status=ExecutionStatus.RUNNING,
        input=None,
        input_digest="digest",
        started_at=STARTED,
        run=4,
        run_start=120,
    )
    ended = ended_record(base, ExecutionStatus.FAILED, ENDED, error_type="DeterminismError")
    assert (ended.run, ended.run_start) == (4, 120)
