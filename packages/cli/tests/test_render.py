"""How executions, events and durations read in a terminal."""

from __future__ import annotations

from rich.console import Console

from eventual_cli._commands._render import (
    describe_event,
    duration,
    event_line,
    execution_table,
    short_json,
)


def _text(renderable: object) -> str:
    console = Console(width=200, record=True)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def test_durations_read_naturally() -> None:
    """Durations use ms, s, minutes and hours as they grow; missing ends give nothing."""
    start = "2026-01-01T00:00:00Z"
    assert duration(start, "2026-01-01T00:00:00.250Z") == "250ms"
    assert duration(start, "2026-01-01T00:00:02.5Z") == "2.50s"
    assert duration(start, "2026-01-01T00:03:02Z") == "3m 2s"
    assert duration(start, "2026-01-01T05:10:00Z") == "5h 10m"
    assert duration(start, None) == ""


def test_events_are_described() -> None:
    """Task calls, retries, signals, patches and unknown events each get a short description."""
    assert describe_event({"type": "TaskScheduled", "task": "add", "args": [1, "x"]}) == (
        'task add(1, "x")'
    )
    retry = {
        "type": "TaskRetryScheduled",
        "attempt": 2,
        "retry_at": "2026-01-01T00:00:10Z",
        "error_type": "IOError",
        "message": "disk",
    }
    assert describe_event(retry) == (
        "attempt 1 failed: IOError: disk; attempt 2 at 2026-01-01 00:00:10"
    )
    assert describe_event({"type": "SignalReceived", "signal": "go", "payload": True}) == (
        "signal go received: true"
    )
    assert describe_event({"type": "Future", "seq": 1, "x": 1}) == '{"x":1}'
    continued = {"type": "WorkflowContinuedAsNew", "input": 2, "run": 1}
    assert describe_event(continued) == "run 1 continued as new with 2"
    second = {"type": "WorkflowStarted", "workflow": "billing", "input": 2, "run": 2}
    assert describe_event(second) == "billing started with 2 (run 2)"
    patch = {"type": "WorkflowPatched", "patch": "email", "after_seq": 2, "deprecated": False}
    assert describe_event(patch) == "took patch email after call #2"
    assert (
        describe_event({**patch, "deprecated": True}) == "took deprecated patch email after call #2"
    )
    assert short_json("x" * 100, 10) == '"xxxxxxxx…'


def test_event_line_and_execution_table() -> None:
    """An event line shows offset, seq and type; a failed execution shows its error."""
    line = event_line(
        {"type": "TimerFired", "seq": 4, "timestamp": "2026-01-01T00:00:01Z"},
        "2026-01-01T00:00:00Z",
    )
    assert line.plain.split() == ["+1.00s", "#4", "TimerFired", "timer", "fired"]
    record = {
        "id": "w/1",
        "workflow": "w",
        "name": "1",
        "status": "FAILED",
        "input": None,
        "started_at": "2026-01-01T00:00:00Z",
        "ended_at": "2026-01-01T00:00:01Z",
        "error_type": "ValueError",
        "message": "bad",
    }
    shown = _text(execution_table(record))
    assert "ValueError: bad" in shown
    assert "FAILED" in shown
    assert "result" not in shown
