"""Replay of recorded histories against local code, with no side effects."""

from __future__ import annotations

import inspect
import io
import json
import re
import sys
from pathlib import Path

import attrs
import pytest

from eventual import (
    DefinitionNotFound,
    EventualError,
    ExecutionStatus,
    Service,
    signal,
    task,
    workflow,
)
from eventual.history import HistoryEvent, WorkflowStarted
from eventual_engine import (
    Engine,
    ManualClock,
    MemoryBackend,
    history_from_json,
    history_to_json,
    replay,
)

runs: list[str] = []
go = signal("go", int)


@task
async def double(x: int) -> int:
    runs.append(f"double {x}")
    return 2 * x


@task
async def triple(x: int) -> int:
    runs.append(f"triple {x}")
    return 3 * x


@workflow(name="calc")
async def calc(x: int) -> int:
    a = await double(x)
    b = await go.expect()
    return a + await double(b)


@workflow(name="calc")
async def calc_reordered(x: int) -> int:
    """Version 2 of ``calc``: triples first (not compatible with version 1's histories)."""
    a = await triple(x)
    b = await go.expect()
    return a + await double(b)


@workflow(name="calc")
async def calc_new_result(x: int) -> int:
    """Version 3 of ``calc``: the same calls, another result."""
    a = await double(x)
    b = await go.expect()
    return a + await double(b) + 1


@workflow(name="calc")
async def calc_refactored(x: int) -> int:
    """Version 4 of ``calc``: rewritten with a helper, the same calls and result."""

    async def twice(n: int) -> int:
        return await double(n)

    first = await twice(x)
    return first + await twice(await go.expect())


def _service(wf: object) -> Service:
    return Service.from_definitions("replay", [go, double, triple, wf])  # type: ignore[list-item]


async def _record(clock: ManualClock, *, finish: bool = True) -> list[HistoryEvent]:
    """Run version 1 of ``calc`` on an engine and return its recorded history."""
    engine = Engine(_service(calc), MemoryBackend(), clock=clock)
    id_ = await engine.start_execution("calc", 5, "x")
    await engine.run_until_idle()
    if finish:
        await engine.send_signal(id_, "go", 7)
        await engine.run_until_idle()
    return await engine.execution_history(id_)


async def test_a_history_from_a_real_run_replays_without_side_effects(clock: ManualClock) -> None:
    """The code that recorded a history reproduces it, and no task runs during replay."""
    history = await _record(clock)
    runs.clear()
    result = replay(_service(calc), history)
    assert result.ok, result.problem
    assert result.status is ExecutionStatus.SUCCEEDED
    assert result.recorded_status is ExecutionStatus.SUCCEEDED
    assert result.result == 24
    assert result.events == len(history)
    assert runs == []


async def test_a_compatible_rewrite_still_replays(clock: ManualClock) -> None:
    """Code that was refactored but makes the same calls replays an older history."""
    history = await _record(clock)
    assert replay(_service(calc_refactored), history).ok


async def test_a_running_execution_replays_to_running(clock: ManualClock) -> None:
    """A history that has not ended replays to RUNNING with no problem."""
    history = await _record(clock, finish=False)
    result = replay(_service(calc), history)
    assert result.ok
    assert result.status is result.recorded_status is ExecutionStatus.RUNNING


async def test_an_incompatible_change_shows_both_calls(clock: ManualClock) -> None:
    """Changed code fails with the sequence number and the recorded and new call."""
    history = await _record(clock)
    result = replay(_service(calc_reordered), history)
    assert not result.ok
    assert result.error_seq == 1
    assert result.recorded_call == "task 'double'"
    assert result.new_call == "task 'triple'"
    assert result.error is not None
    assert result.error[0] == "DeterminismError"
    assert "sequence 1" in (result.problem or "")


async def test_another_result_is_reported(clock: ManualClock) -> None:
    """Code that makes the same calls but returns something else is reported."""
    history = await _record(clock)
    result = replay(_service(calc_new_result), history)
    assert not result.ok
    assert result.problem == "the history records the result 24, the code now returns 25"


async def test_break_at_stops_inside_the_workflow(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``break_at`` calls the breakpoint hook once, at that call, with the workflow on the stack."""
    history = await _record(clock)
    stops: list[list[str]] = []

    def hook(*args: object, **kwargs: object) -> None:
        stops.append([frame.function for frame in inspect.stack()])

    monkeypatch.setattr("sys.breakpointhook", hook)
    stopped = replay(_service(calc), history, break_at=2)
    assert stopped.ok
    assert stopped.stopped_at == 2
    assert len(stops) == 1
    assert "calc" in stops[0]
    unasked = replay(_service(calc), history, break_at=None)
    assert unasked.ok
    assert unasked.stopped_at is None
    assert len(stops) == 1


async def test_break_at_opens_pdb_in_the_workflows_own_frame(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With pdb, ``break_at`` opens at the workflow's line making the call; ``next`` steps."""
    history = await _record(clock)
    monkeypatch.delenv("PYTHONBREAKPOINT", raising=False)
    monkeypatch.setattr("sys.breakpointhook", sys.__breakpointhook__)
    monkeypatch.setattr("sys.stdin", io.StringIO("p x\nnext\np a\ncontinue\n"))
    stopped = replay(_service(calc), history, break_at=1)
    assert stopped.ok
    shown = capsys.readouterr().out
    frames = re.findall(r"> (\S+)\(\d+\)(\w+)\(\)", shown)
    assert frames == [(__file__, "calc"), (__file__, "calc")]
    assert "-> a = await double(x)" in shown
    assert "-> b = await go.expect()" in shown
    assert "(Pdb) 5\n" in shown  # the workflow's input, x
    assert "(Pdb) 10\n" in shown  # a, after stepping over the call
    assert sys.gettrace() is None


async def test_break_at_a_call_never_made_says_so(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``break_at`` past the last call never calls the hook, and the result tells so."""
    history = await _record(clock)
    stops: list[int] = []
    monkeypatch.setattr("sys.breakpointhook", lambda *args, **kwargs: stops.append(1))
    result = replay(_service(calc), history, break_at=99)
    assert result.ok
    assert result.stopped_at is None
    assert stops == []


async def test_json_round_trip_and_bad_documents(clock: ManualClock, tmp_path: Path) -> None:
    """Exported JSON reads back to the same history; bad documents get clear errors."""
    history = await _record(clock)
    text = history_to_json("calc/x", history)
    assert json.loads(text)["execution_id"] == "calc/x"
    assert history_from_json(text) == [_unsigned(event) for event in history]
    with pytest.raises(EventualError, match=r"h\.json: not JSON"):
        history_from_json("{", source="h.json")
    with pytest.raises(EventualError, match="expected an object with an 'events' list"):
        history_from_json('{"events": 3}')
    with pytest.raises(EventualError, match="not a valid history"):
        history_from_json('[{"type": "Nope"}]')


def _unsigned(event: HistoryEvent) -> HistoryEvent:
    """The event as an export writes it: a WorkflowStarted without its task key."""
    return attrs.evolve(event, task_key=None) if isinstance(event, WorkflowStarted) else event


async def test_an_export_leaves_the_task_key_out_and_still_replays(clock: ManualClock) -> None:
    """The exported JSON holds no task key, and the history read back from it replays."""
    history = await _record(clock)
    started = history[0]
    assert isinstance(started, WorkflowStarted)
    assert started.task_key is not None
    text = history_to_json("calc/x", history)
    assert started.task_key not in text
    assert "task_key" not in json.loads(text)["events"][0]
    assert replay(_service(calc), history_from_json(text)).ok


async def test_unknown_workflow_or_bad_history_is_an_error(clock: ManualClock) -> None:
    """Replaying a workflow the service lacks, or a history without a start, fails clearly."""
    history = await _record(clock)
    with pytest.raises(DefinitionNotFound):
        replay(Service.from_definitions("empty", [double]), history)
    with pytest.raises(EventualError, match="must begin with WorkflowStarted"):
        replay(_service(calc), history[1:])
