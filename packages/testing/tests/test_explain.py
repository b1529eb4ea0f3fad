"""Readable failures: the workflow, the sequence number and the history around it."""

from __future__ import annotations

import contextlib
import itertools
from datetime import timedelta

import pytest

from eventual import Service, TaskError, WorkflowFailed, signal, sleep, task, workflow
from eventual.history import ExecutionRecord
from eventual_testing import TestEnvironment

runs = itertools.count()


@task
async def add(a: int, b: int) -> int:
    return a + b


@task
async def explode(reason: str) -> None:
    raise ValueError(reason)


@workflow
async def flip(_: None) -> str:
    """Takes another branch on every run: a replay does not reproduce the history."""
    first = next(runs) % 2 == 0
    await sleep(timedelta(seconds=1))
    if first:
        await add(1, 2)
    else:
        await sleep(timedelta(seconds=1))
    await sleep(timedelta(seconds=1))
    return "done"


@workflow
async def long_then_fails(steps: int) -> None:
    for _ in range(steps):
        await sleep(timedelta(minutes=1))
    await add(1, 1)
    await explode("out of fuel")
    await add(2, 2)


@workflow
async def recovers_then_fails(_: None) -> None:
    with contextlib.suppress(TaskError):
        await explode("handled")
    await add(1, 1)
    await sleep(timedelta(seconds=1))
    raise KeyError("order o1")


@task(timeout=timedelta(minutes=1))
async def slow() -> None:
    pass


@workflow
async def parent(_: None) -> None:
    await add(1, 1)
    await long_then_fails(0)  # a child that fails
    await slow()


@workflow
async def times_out(_: None) -> None:
    with contextlib.suppress(TaskError):
        await explode("handled")
    await slow()


go = signal("go", bool)


@workflow
async def answered_then_naps(_: None) -> None:
    await go.expect(timeout=timedelta(hours=1))
    await sleep(timedelta(days=1))


SERVICE = Service.from_definitions(
    "explain",
    [
        add,
        explode,
        flip,
        long_then_fails,
        recovers_then_fails,
        slow,
        parent,
        times_out,
        go,
        answered_then_naps,
    ],
)


def note_of(error: BaseException) -> str:
    notes = getattr(error, "__notes__", [])
    assert len(notes) == 1
    return str(notes[0])


async def test_a_determinism_error_shows_the_sequence_number_and_the_history_around_it() -> None:
    """The failure note names the workflow and marks the events of the mismatching seq."""
    global runs
    runs = itertools.count()
    async with TestEnvironment(SERVICE, replay=True) as env:
        handle = await env.start(flip, None, name="f1")
        await env.advance(timedelta(seconds=5))
        with pytest.raises(WorkflowFailed) as failed:
            await handle.result()
    assert failed.value.error_type == "DeterminismError"
    assert "at sequence 2" in failed.value.message
    note = note_of(failed.value)
    assert note.startswith("execution 'flip/f1' of workflow 'flip'")
    assert "history around sequence 2" in note
    marked = [line for line in note.splitlines() if line.startswith("  >")]
    assert marked
    assert all("seq 2 " in line for line in marked)
    assert any("TimerScheduled" in line for line in marked)
    assert "WorkflowFailed" in note.splitlines()[-1]


async def test_a_failed_task_is_marked_and_distant_history_is_left_out() -> None:
    """An uncaught task failure marks that task's seq and elides far-away events."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(long_then_fails, 30, name="l1")
        await env.advance(timedelta(hours=1))
        with pytest.raises(WorkflowFailed) as failed:
            await handle.result()
    assert failed.value.error_type == "TaskError"
    note = note_of(failed.value)
    assert "history around sequence 32" in note
    assert "event(s) not shown" in note
    marked = [line for line in note.splitlines() if line.startswith("  >")]
    assert [line.split()[5] for line in marked] == ["TaskScheduled", "TaskStarted", "TaskFailed"]
    assert "message='out of fuel'" in marked[2]
    assert "WorkflowStarted" in note  # the start is always shown
    assert len(note.splitlines()) < 20


async def test_a_caught_task_failure_is_not_blamed_for_a_later_error() -> None:
    """An error the workflow raised itself shows the end of the history, nothing marked."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(recovers_then_fails, None, name="r1")
        await env.advance(timedelta(seconds=1))
        with pytest.raises(WorkflowFailed) as failed:
            await handle.result()
    assert failed.value.error_type == "KeyError"
    note = note_of(failed.value)
    assert "around sequence" not in note
    assert not [line for line in note.splitlines() if line.startswith("  >")]
    assert "TimerFired" in note
    assert note.splitlines()[-1].split()[2] == "WorkflowFailed"


async def test_a_failed_child_or_a_timed_out_task_is_marked() -> None:
    """The note marks the child whose failure went uncaught, or the task that timed out."""
    async with TestEnvironment(SERVICE) as env:
        env.mock(slow).completes_async()
        child_failed = await env.start(parent, None, name="p1")
        timed_out = await env.start(times_out, None, name="t1")
        await env.advance(timedelta(minutes=1))
        with pytest.raises(WorkflowFailed) as failed_child:
            await child_failed.result()
        with pytest.raises(WorkflowFailed) as failed_task:
            await timed_out.result()
    assert failed_child.value.error_type == "WorkflowFailed"
    marked = [line for line in note_of(failed_child.value).splitlines() if line.startswith("  >")]
    assert [line.split()[5] for line in marked] == [
        "ChildWorkflowScheduled",
        "ChildWorkflowFailed",
    ]
    assert failed_task.value.error_type == "Timeout"
    note = note_of(failed_task.value)
    assert "history around sequence 2" in note
    marked = [line for line in note.splitlines() if line.startswith("  >")]
    assert [line.split()[5] for line in marked] == ["TaskScheduled", "TaskTimedOut"]


async def test_explain_marks_the_failure_in_the_whole_timeline() -> None:
    """Explain lists every event and marks the failing seq of a failed execution."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(long_then_fails, 2, name="l2")
        await env.advance(timedelta(minutes=5))
        text = await env.explain(handle)
    lines = text.splitlines()
    assert lines[0] == (
        "execution 'long_then_fails/l2' of workflow 'long_then_fails', started "
        "2026-01-01T00:00:00+00:00, FAILED: TaskError: ValueError: out of fuel"
    )
    assert "event(s) not shown" not in text
    assert [line.split()[5] for line in lines if line.startswith("  >")] == [
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
    ]
    assert "+0:02:00  seq 3    TaskScheduled          task='add' args=[1, 1]" in text


def test_an_empty_history_is_described() -> None:
    """A record without history still gets a header and a placeholder."""
    from eventual import ExecutionStatus
    from eventual_testing._explain import explain

    record = ExecutionRecord(
        id="w/x",
        workflow="w",
        name="x",
        status=ExecutionStatus.RUNNING,
        input=None,
        input_digest="",
        started_at=TestEnvironment.DEFAULT_START,
    )
    assert explain(record, []).splitlines() == [
        "execution 'w/x' of workflow 'w', RUNNING",
        "history (position, time since start, seq, event):",
        "  (no history)",
    ]


async def test_a_timer_let_go_is_not_waited_for() -> None:
    """An expect answered before its timeout: its timer shows cancelled, not waiting."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(answered_then_naps, None)
        await env.run_until_idle()
        await handle.signal(go, True)
        await env.run_until_idle()
        history = await handle.history()
        assert [event.type for event in history][-3:] == [
            "SignalReceived",
            "TimerCancelled",
            "TimerScheduled",
        ]
        explained = await env.explain(handle)
    waiting = explained.partition("waiting for:")[2].strip().splitlines()
    assert len(waiting) == 1
    assert waiting[0].startswith("seq 2 TimerScheduled")
