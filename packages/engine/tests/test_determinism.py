"""Replay determinism: recorded histories replay to the same calls and outcome.

The property tests drive real executions through random interleavings of task
completions and failures, signals and clock moves (every task finishes through
``complete_async``, so the test decides when), then replay each recorded history
from scratch and compare.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventual import (
    DeterminismError,
    ExecutionStatus,
    RetryPolicy,
    Service,
    TaskError,
    Timeout,
    Workflow,
    WorkflowFailed,
    complete_async,
    condition,
    event,
    now,
    signal,
    sleep,
    task,
    task_info,
    workflow,
)
from eventual.codec import JsonValue
from eventual.history import (
    ChildWorkflowScheduled,
    EventsPublished,
    ExecutionRecord,
    HistoryEvent,
    SignalSent,
    TaskScheduled,
    TimerScheduled,
    WorkflowCancelled,
    WorkflowSucceeded,
    history_event_from_json,
    history_event_to_json,
)
from eventual.history import WorkflowFailed as WorkflowFailedEvent
from eventual.spi import ExecutionFilter
from eventual_engine import Engine, ManualClock, MemoryBackend, WorkflowInstance

START = datetime(2026, 1, 1, tzinfo=UTC)

# Tokens of task attempts waiting for the test to finish them, in the order they ran.
tokens: list[str] = []

note = signal("note", str)
approval = signal("approval", bool)
go = signal("go", int)
finished = event("finished", str)


@task
async def fetch(key: str) -> str:
    tokens.append(task_info().token)
    complete_async()


@task(
    timeout=timedelta(seconds=30),
    retry=RetryPolicy(
        max_attempts=3,
        initial_interval=timedelta(seconds=5),
        backoff=2.0,
        non_retryable=("PermissionError",),
    ),
)
async def charge(key: str) -> str:
    tokens.append(task_info().token)
    complete_async()


def _outcome(future: asyncio.Future[str] | BaseException | str) -> str:
    """Describe a finished task call as a string (its value or its error)."""
    if isinstance(future, BaseException):
        return f"error:{type(future).__name__}"
    if isinstance(future, str):
        return future
    error = future.exception()
    return f"error:{type(error).__name__}" if error is not None else future.result()


@workflow
async def juggler(width: int) -> dict[str, Any]:
    started = now()
    notes: list[str] = []
    subscription = note.on(notes.append)
    gathered = await asyncio.gather(*(fetch(f"g{i}") for i in range(width)), return_exceptions=True)
    racers = [asyncio.ensure_future(fetch("left")), asyncio.ensure_future(fetch("right"))]
    done, pending = await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
    winner = min(racers.index(racer) for racer in done)
    enough = await condition(lambda: len(notes) >= 2, timeout=timedelta(minutes=5))
    approved: bool | None
    try:
        approved = await asyncio.wait_for(approval.expect(), timeout=60)
    except TimeoutError:
        approved = None
    if pending:
        await asyncio.wait(pending)
    subscription.dispose()
    await sleep(timedelta(seconds=10))
    return {
        "gathered": [_outcome(g) for g in gathered],
        "winner": winner,
        "racers": [_outcome(r) for r in racers],
        "enough": enough,
        "approved": approved,
        "notes": notes,
        "elapsed": (now() - started).total_seconds(),
    }


@workflow
async def solo(key: str) -> str:
    try:
        return await fetch(key)
    except TaskError as error:
        return f"solo failed: {error.error_type}"


@workflow
async def kid(width: int) -> list[str]:
    first = await go.expect()
    parts = await asyncio.gather(*(fetch(f"k{i}") for i in range(width)), return_exceptions=True)
    await sleep(5)
    return [str(first), *(_outcome(p) for p in parts)]


@workflow
async def family(width: int) -> dict[str, Any]:
    handle = await kid.start(width)
    waited = asyncio.ensure_future(solo("solo"))
    try:
        mine = await fetch("parent")
    except TaskError as error:
        mine = f"error:{error.error_type}"
    await go.send(handle.id, width)
    try:
        kid_result: list[str] | str = await handle.result()
    except WorkflowFailed as error:
        kid_result = f"kid failed: {error.error_type}"
    solo_result = await waited
    await finished.publish(mine, solo_result)
    return {"mine": mine, "kid": kid_result, "solo": solo_result, "at": now().isoformat()}


@workflow
async def billing(count: int) -> list[str]:
    charged = await asyncio.gather(*(charge(f"c{i}") for i in range(count)), return_exceptions=True)
    results = [_outcome(c) for c in charged]
    try:
        results.append(f"approved={await approval.expect(timeout=timedelta(seconds=40))}")
    except Timeout:
        results.append("approval timed out")
    try:
        results.append(await charge("final"))
    except (TaskError, Timeout) as error:
        results.append(f"final failed: {type(error).__name__}")
    results.append(now().isoformat())
    return results


SERVICE = Service.from_definitions(
    "determinism",
    [fetch, charge, note, approval, go, finished, juggler, solo, kid, family, billing],
)

# --- a changed version of one workflow, for the nondeterminism tests ---------------------


@task
async def first_step(key: str) -> str:
    tokens.append(task_info().token)
    complete_async()


@task
async def second_step(key: str) -> str:
    tokens.append(task_info().token)
    complete_async()


@task
async def other_step(key: str) -> str:
    tokens.append(task_info().token)
    complete_async()


@workflow(name="steps")
async def steps_v1(key: str) -> str:
    a = await first_step(key)
    b = await second_step(key)
    return a + b


@workflow(name="steps")
async def steps_v2(key: str) -> str:
    a = await first_step(key)
    b = await other_step(key)  # the change: another task at sequence 2
    return a + b


@workflow(name="steps")
async def steps_v3(key: str) -> str:
    a = await first_step(key)
    await approval.expect()  # the change: no second task, a signal instead
    return a


@workflow(name="steps")
async def steps_v4(key: str) -> str:
    return await first_step(key)  # the change: returns before the recorded second task


STEPS = [first_step, second_step, other_step, approval]
SERVICE_V1 = Service.from_definitions("steps", [*STEPS, steps_v1])
SERVICE_V2 = Service.from_definitions("steps", [*STEPS, steps_v2])
SERVICE_V3 = Service.from_definitions("steps", [*STEPS, steps_v3])
SERVICE_V4 = Service.from_definitions("steps", [*STEPS, steps_v4])

# --- helpers -----------------------------------------------------------------------------

_PRODUCED = (
    TaskScheduled,
    TimerScheduled,
    ChildWorkflowScheduled,
    SignalSent,
    EventsPublished,
    WorkflowSucceeded,
    WorkflowFailedEvent,
    WorkflowCancelled,
)


def call_key(event: HistoryEvent) -> tuple[str, int, str]:
    """Return what identifies a scheduled call: its type, sequence number and name."""
    match event:
        case TaskScheduled(seq=seq, task=name):
            return (event.type, seq, name)
        case ChildWorkflowScheduled(seq=seq, workflow=name, execution_id=child):
            return (event.type, seq, f"{name} {child}")
        case SignalSent(seq=seq, signal=name, execution_id=target):
            return (event.type, seq, f"{name} to {target}")
        case EventsPublished(seq=seq, events=events):
            return (event.type, seq, ",".join(e.name for e in events))
        case TimerScheduled(seq=seq):
            return (event.type, seq, "")
    return (event.type, 0, "")


def round_trip(history: Sequence[HistoryEvent]) -> list[HistoryEvent]:
    """Send every event through its JSON form and back."""
    return [
        history_event_from_json(json.loads(json.dumps(history_event_to_json(e)))) for e in history
    ]


def assert_replays(service: Service, history: list[HistoryEvent], record: ExecutionRecord) -> None:
    """Replay ``history`` from scratch and check it against the recorded outcome and calls."""
    instance, output = WorkflowInstance.from_history(service, history)
    assert output.events == []
    assert (output.tasks, output.timers, output.messages, output.starts) == ([], [], [], [])
    assert output.published == []
    assert instance.status is record.status
    assert instance.ended is record.status.done
    assert instance.result == record.result
    expected_error = None if record.error_type is None else (record.error_type, record.message)
    assert instance.error == expected_error

    # Re-run the code on the inbound events alone: it must make exactly the recorded calls
    # (same kinds, sequence numbers and names), then produce the very same events.
    inbound = [e for e in history if not isinstance(e, _PRODUCED)]
    _rerun, produced = WorkflowInstance.from_history(service, inbound)
    recorded = [e for e in history if isinstance(e, _PRODUCED)]
    assert [call_key(e) for e in produced.events] == [call_key(e) for e in recorded]
    assert produced.events == recorded


async def assert_all_replay(engine: Engine, service: Service) -> None:
    """Replay every execution of the engine, as recorded and after a JSON round trip."""
    page = await engine.executions(ExecutionFilter(limit=100))
    assert page.executions
    for record in page.executions:
        history = await engine.execution_history(record.id)
        assert_replays(service, history, record)
        copied = round_trip(history)
        assert copied == history
        assert_replays(service, copied, record)
        kinds = sorted({e.type for e in history if e.type.startswith(("Task", "Timer", "Signal"))})
        hypothesis.event(f"{record.workflow} {record.status.value}: {' '.join(kinds)}")


class Driver:
    """Runs one engine on a manual clock and finishes tasks when the test says so."""

    def __init__(self, service: Service) -> None:
        self.clock = ManualClock(START)
        self.engine = Engine(service, MemoryBackend(), clock=self.clock)
        self.used: set[str] = set()
        tokens.clear()

    def pending(self) -> list[str]:
        """Return the tokens of attempts not finished by the test yet, oldest first."""
        return [t for t in tokens if t not in self.used]

    async def start(self, workflow: Workflow[Any, Any], input: Any) -> str:
        """Start an execution with a fixed name."""
        return await self.engine.start_execution(workflow.name, workflow.encode_input(input), "run")

    async def running(self) -> list[str]:
        """Return the ids of executions still running."""
        page = await self.engine.executions(
            ExecutionFilter(status=ExecutionStatus.RUNNING, limit=100)
        )
        return sorted(r.id for r in page.executions)

    async def complete(self, token: str, value: str) -> None:
        """Complete an attempt with ``value``."""
        self.used.add(token)
        await self.engine.complete_task(token, value)

    async def fail(self, token: str, error_type: str) -> None:
        """Fail an attempt with an error of ``error_type``."""
        self.used.add(token)
        await self.engine.fail_task(token, error_type, f"{error_type} from the test")

    async def advance(self, seconds: float) -> None:
        """Move the clock forward, firing due timers in order."""
        await self.engine.advance_to(self.clock.now() + timedelta(seconds=seconds))

    async def drain(self) -> None:
        """Finish every open attempt and let time pass until all executions have ended."""
        for round_ in range(30):
            await self.engine.run_until_idle()
            for token in self.pending():
                await self.complete(token, f"late{round_}")
            await self.advance(600)
            if not await self.running():
                return
        raise AssertionError(f"executions still running: {await self.running()}")


_SIGNALS: dict[str, st.SearchStrategy[JsonValue]] = {
    "note": st.sampled_from(["a", "b", "c"]),
    "approval": st.booleans(),
    "go": st.integers(0, 3),
}
_ACTIONS = ["complete", "complete", "complete", "fail", "signal", "advance", "settle"]


async def drive_randomly(driver: Driver, data: st.DataObject) -> None:
    """Apply a random sequence of completions, failures, signals and clock moves."""
    for _ in range(data.draw(st.integers(0, 30), label="steps")):
        action = data.draw(st.sampled_from(_ACTIONS), label="action")
        pending = driver.pending()
        if action in ("complete", "fail") and pending:
            token = data.draw(st.sampled_from(pending), label="token")
            if action == "complete":
                await driver.complete(token, data.draw(st.sampled_from(["x", "y"]), label="value"))
            else:
                error = data.draw(st.sampled_from(["ConnectionError", "PermissionError"]))
                await driver.fail(token, error)
        elif action == "signal" and (running := await driver.running()):
            target = data.draw(st.sampled_from(running), label="target")
            name = data.draw(st.sampled_from(sorted(_SIGNALS)), label="signal")
            payload = data.draw(_SIGNALS[name], label="payload")
            await driver.engine.send_signal(target, name, payload)
        elif action == "advance":
            seconds = data.draw(st.sampled_from([0.5, 1, 5, 10, 29, 31, 45, 61, 301]))
            await driver.advance(seconds)
        if action == "settle" or data.draw(st.booleans(), label="settle"):
            await driver.engine.run_until_idle()


_DRIVEN: dict[str, tuple[Workflow[Any, Any], st.SearchStrategy[int]]] = {
    "juggler": (juggler, st.integers(1, 3)),
    "family": (family, st.integers(0, 2)),
    "billing": (billing, st.integers(1, 2)),
}


@pytest.mark.parametrize("name", sorted(_DRIVEN))
@settings(max_examples=50, deadline=None)
@given(data=st.data())
async def test_random_interleavings_replay_identically(name: str, data: st.DataObject) -> None:
    """Any interleaving of completions, signals and timers leaves a history that replays exactly."""
    workflow_, inputs = _DRIVEN[name]
    driver = Driver(SERVICE)
    await driver.start(workflow_, data.draw(inputs, label="input"))
    await driver.engine.run_until_idle()
    await drive_randomly(driver, data)
    await assert_all_replay(driver.engine, SERVICE)  # mid-way, some still running
    await driver.drain()
    await assert_all_replay(driver.engine, SERVICE)


# --- nondeterministic code ---------------------------------------------------------------


async def _record_steps(service: Service) -> tuple[Driver, str]:
    """Run ``steps`` on ``service`` until its second task is waiting; return the driver."""
    driver = Driver(service)
    id_ = await driver.start(steps_v1, "k")
    await driver.engine.run_until_idle()
    await driver.complete(driver.pending()[0], "a")
    await driver.engine.run_until_idle()
    assert len(driver.pending()) == 1
    return driver, id_


async def test_replay_with_changed_call_names_both() -> None:
    """Replaying with code that makes another call at a recorded sequence raises, naming both."""
    driver, id_ = await _record_steps(SERVICE_V1)
    await driver.complete(driver.pending()[0], "b")
    await driver.engine.run_until_idle()
    history = await driver.engine.execution_history(id_)
    assert WorkflowInstance.from_history(SERVICE_V1, history)[0].result == "ab"
    with pytest.raises(DeterminismError) as info:
        WorkflowInstance.from_history(SERVICE_V2, history)
    message = str(info.value)
    assert "sequence 2" in message
    assert "task 'second_step'" in message
    assert "task 'other_step'" in message
    assert message.index("second_step") < message.index("other_step")  # recorded, then new


async def test_replay_missing_recorded_call_raises() -> None:
    """Replaying a history whose recorded call the code never makes raises DeterminismError."""
    driver, id_ = await _record_steps(SERVICE_V1)
    history = await driver.engine.execution_history(id_)
    with pytest.raises(DeterminismError, match=r"task 'second_step' at sequence 2.*never makes"):
        WorkflowInstance.from_history(SERVICE_V3, history)


async def test_changed_code_fails_a_live_execution() -> None:
    """An engine with changed code that picks up a running execution fails it on replay."""
    driver, id_ = await _record_steps(SERVICE_V1)
    backend = driver.engine.backend
    engine_b = Engine(SERVICE_V2, backend, clock=driver.clock)
    assert engine_b.orchestrator.replays == 0
    await engine_b.complete_task(driver.pending()[0], "b")
    await engine_b.run_until_idle()
    assert engine_b.orchestrator.replays == 1
    record = await engine_b.execution_record(id_)
    assert record.status is ExecutionStatus.FAILED
    assert record.error_type == "DeterminismError"
    assert record.message is not None
    assert "sequence 2" in record.message
    history = await engine_b.execution_history(id_)
    assert isinstance(history[-1], WorkflowFailedEvent)
    assert history[-1].error_type == "DeterminismError"
    assert [e.type for e in history].count("TaskScheduled") == 2  # nothing new was scheduled


async def test_code_that_returns_early_fails_a_live_execution() -> None:
    """Changed code that returns before making a recorded call fails the execution on replay."""
    driver, id_ = await _record_steps(SERVICE_V1)
    engine_b = Engine(SERVICE_V4, driver.engine.backend, clock=driver.clock)
    await engine_b.send_signal(id_, "approval", True)  # any inbound event makes B replay
    await engine_b.run_until_idle()
    record = await engine_b.execution_record(id_)
    assert (record.status, record.error_type) == (ExecutionStatus.FAILED, "DeterminismError")


async def test_dropped_duplicate_does_not_move_the_clock() -> None:
    """A stale completion that is dropped does not change now() for the replay."""
    from datetime import UTC, datetime, timedelta

    from eventual import Service, now, task, workflow
    from eventual.history import TaskSucceeded as Succeeded
    from eventual.history import WorkflowStarted as Started
    from eventual_engine import WorkflowInstance

    @task(name="t1")
    async def t1() -> str:
        return "a"

    @workflow(name="wf")
    async def wf(_: None) -> str:
        await t1()
        return now().isoformat()

    service = Service.from_definitions("clock", [t1, wf])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    started = Started(timestamp=start, execution_id="wf/x", workflow="wf", name="x", input=None)
    live, first = WorkflowInstance.from_history(service, [started])
    stale = live.apply(
        [Succeeded(timestamp=start + timedelta(minutes=5), seq=1, attempt=2, result="x")]
    )
    real = live.apply([Succeeded(timestamp=start + timedelta(minutes=1), seq=1, result="a")])
    history = [started, *first.events, *stale.events, *real.events]
    replayed, _ = WorkflowInstance.from_history(service, history)
    assert live.result == replayed.result == (start + timedelta(minutes=1)).isoformat()
