"""continue_as_new in the middle of a batch: the rest of the batch reaches the next run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from eventual import ExecutionStatus, Service, continue_as_new, signal, workflow
from eventual.history import (
    HistoryEvent,
    SignalReceived,
    WorkflowCancelled,
    WorkflowStarted,
    WorkflowTimedOut,
)
from eventual_engine import Engine, ManualClock, WorkflowInstance, replay

from .conftest import EngineFactory

go = signal("go", int)


@workflow
async def loop(n: int) -> int:
    got = await go.expect()
    if n == 0:
        continue_as_new(got)
    return got


@workflow
async def tally(n: int) -> list[int]:
    got = await go.expect()
    if n == 0:
        continue_as_new(got)
    more = await go.expect()
    return [n, got, more]


@workflow(timeout=timedelta(hours=1))
async def bounded(n: int) -> int:
    got = await go.expect()
    if n == 0:
        continue_as_new(got)
    return await go.expect()


SERVICE = Service.from_definitions("handover", [bounded, go, loop, tally])


def _runs(history: Sequence[HistoryEvent]) -> list[int]:
    """Which run each event belongs to, by position."""
    run, runs = 0, list[int]()
    for event in history:
        if isinstance(event, WorkflowStarted):
            run = event.run
        runs.append(run)
    return runs


async def test_a_signal_behind_the_one_that_continued_reaches_the_next_run(
    any_engine_factory: EngineFactory,
) -> None:
    """Two signals in one batch: the first makes run 1 continue, the second ends run 2."""
    engine = any_engine_factory(SERVICE)
    id_ = await engine.start_execution("loop", 0, "l")
    await engine.run_until_idle()
    await engine.send_signal(id_, "go", 1)
    await engine.send_signal(id_, "go", 2)
    await engine.run_until_idle()
    record = await engine.execution_record(id_)
    assert (record.status, record.run, record.result) == (ExecutionStatus.SUCCEEDED, 2, 2)
    history = list(await engine.execution_history(id_))
    runs = _runs(history)
    signals = [(e.payload, runs[i]) for i, e in enumerate(history) if isinstance(e, SignalReceived)]
    assert signals == [(1, 1), (2, 2)]
    assert replay(SERVICE, history).ok


async def test_a_cancel_behind_the_signal_that_continued_cancels_the_next_run(
    any_engine_factory: EngineFactory,
) -> None:
    """A cancel request in the same batch as the hand-over cancels the run that follows."""
    engine = any_engine_factory(SERVICE)
    id_ = await engine.start_execution("tally", 0, "c")
    await engine.run_until_idle()
    await engine.send_signal(id_, "go", 1)
    await engine.cancel_execution(id_)
    await engine.run_until_idle()
    record = await engine.execution_record(id_)
    assert (record.status, record.run) == (ExecutionStatus.CANCELLED, 2)
    history = list(await engine.execution_history(id_))
    assert isinstance(history[-1], WorkflowCancelled)
    assert replay(SERVICE, history).ok


async def test_a_timeout_behind_the_signal_that_continued_ends_the_next_run(
    any_engine_factory: EngineFactory, clock: ManualClock
) -> None:
    """The execution's timeout firing in the same batch as the hand-over still ends it."""
    engine = any_engine_factory(SERVICE)
    id_ = await engine.start_execution("bounded", 0, "t")
    await engine.run_until_idle()
    await engine.send_signal(id_, "go", 1)
    clock.set(clock.now() + timedelta(hours=2))
    assert await engine.timers.fire_due() == 1  # queued behind the signal
    await engine.run_until_idle()
    record = await engine.execution_record(id_)
    assert (record.status, record.run) == (ExecutionStatus.TIMED_OUT, 2)
    history = list(await engine.execution_history(id_))
    runs = _runs(history)
    assert [runs[i] for i, e in enumerate(history) if isinstance(e, WorkflowTimedOut)] == [2]


async def test_a_fresh_engine_replays_the_next_run_with_what_it_was_passed(
    any_engine_factory: EngineFactory, clock: ManualClock
) -> None:
    """After the step commits, a fresh engine rebuilds run 2 with signal 2 applied once."""
    engine = any_engine_factory(SERVICE)
    id_ = await engine.start_execution("tally", 0, "r")
    await engine.run_until_idle()
    await engine.send_signal(id_, "go", 1)
    await engine.send_signal(id_, "go", 2)
    await engine.run_until_idle()
    # The first engine is gone; another on the same store knows nothing but the history.
    fresh = Engine(SERVICE, engine.backend, clock=clock)
    await fresh.send_signal(id_, "go", 3)
    await fresh.run_until_idle()
    assert fresh.orchestrator.replays == 1
    record = await fresh.execution_record(id_)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, [1, 2, 3])
    history = list(await fresh.execution_history(id_))
    runs = _runs(history)
    signals = [(e.payload, runs[i]) for i, e in enumerate(history) if isinstance(e, SignalReceived)]
    assert signals == [(1, 1), (2, 2), (3, 2)]
    assert replay(SERVICE, history).result == [1, 2, 3]


async def test_a_redelivered_signal_in_the_batch_is_not_passed_on(
    engine_factory: EngineFactory,
) -> None:
    """A signal run 1 applied, delivered again behind the hand-over, is not applied by run 2."""
    engine = engine_factory(SERVICE)
    id_ = await engine.start_execution("tally", 0, "d")
    history = list(await engine.execution_history(id_))
    instance, _ = WorkflowInstance.from_history(SERVICE, history)
    now = history[0].timestamp

    def go_(payload: int, signal_id: str) -> SignalReceived:
        return SignalReceived(timestamp=now, signal="go", payload=payload, id=signal_id)

    instance.apply([go_(1, "s-1"), go_(1, "s-1"), go_(2, "s-2")])
    assert instance.passed_on == [go_(2, "s-2")]
