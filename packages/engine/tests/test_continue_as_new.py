"""continue_as_new: the same execution goes on with fresh input and a fresh run to replay."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from eventual import (
    RuntimeNotAvailable,
    Service,
    continue_as_new,
    logger,
    patched,
    signal,
    sleep,
    task,
    workflow,
)
from eventual.history import (
    SignalReceived,
    TaskScheduled,
    TimerScheduled,
    WorkflowContinuedAsNew,
    WorkflowStarted,
    history_event_from_json,
)
from eventual_engine import Engine, ManualClock, WorkflowInstance, replay
from eventual_engine._logs import log_store
from eventual_engine.conformance import histories

from .conftest import START, EngineFactory

note = signal("note", str)


@task
async def bill(month: int) -> str:
    return f"invoice {month}"


@workflow
async def billing(month: int) -> str:
    invoice = await bill(month)
    await sleep(timedelta(days=30))
    if month < 3:
        continue_as_new(month + 1)
    return invoice


@workflow
async def inbox(seen: list[str]) -> list[str]:
    if len(seen) >= 3:
        return seen
    item = await note.expect()
    await sleep(timedelta(minutes=1))
    continue_as_new([*seen, item])


@workflow
async def swallower(tries: int) -> int:
    try:
        if tries < 2:
            continue_as_new(tries + 1)
    except Exception:
        return -1
    return tries


@workflow
async def relabel(taken: list[bool]) -> list[bool]:
    label = patched("label")
    logger.info("run %d took the label: %s", len(taken) + 1, label)
    if taken:
        return [*taken, label]
    await sleep(timedelta(minutes=1))  # notes sent meanwhile are kept for the next run
    logger.info("run 1 hands over")
    continue_as_new([label])


SERVICE = Service.from_definitions("cont", [billing, bill, inbox, note, relabel, swallower])


async def test_a_loop_continues_under_the_same_id_with_a_run_per_month(
    any_engine_factory: EngineFactory, clock: ManualClock
) -> None:
    """Three months run as three runs of one execution; the record names the last run."""
    engine = any_engine_factory(SERVICE)
    id_ = await engine.start_execution("billing", 1, "acme")
    await engine.run_until_idle()
    for _ in range(3):
        engine.orchestrator.clear()  # each month's step starts from the stored run
        await engine.advance_to(clock.now() + timedelta(days=30))
    assert await engine.execution_result(id_) == "invoice 3"
    history = await engine.execution_history(id_)
    runs = [e for e in history if isinstance(e, WorkflowStarted)]
    assert [(r.run, r.input, r.execution_id) for r in runs] == [
        (1, 1, id_),
        (2, 2, id_),
        (3, 3, id_),
    ]
    continued = [e for e in history if isinstance(e, WorkflowContinuedAsNew)]
    assert [(c.run, c.input) for c in continued] == [(1, 2), (2, 3)]
    # Sequence numbers go on across runs, so a late outcome of a run matches nothing later.
    assert [e.seq for e in history if isinstance(e, TaskScheduled)] == [1, 3, 5]
    record = await engine.execution_record(id_)
    assert (record.run, record.run_start) == (3, history.index(runs[-1]))
    assert record.input == 1  # what the execution was started with


async def test_only_the_last_run_replays(engine_factory: EngineFactory, clock: ManualClock) -> None:
    """Rebuilt from the whole history, an instance replays the last run alone."""
    engine = engine_factory(SERVICE)
    id_ = await engine.start_execution("billing", 1, "acme")
    await engine.advance_to(START + timedelta(days=61))
    history = await engine.execution_history(id_)
    instance, output = WorkflowInstance.from_history(SERVICE, history)
    assert instance.run == 3
    assert history[instance.run_start] == [e for e in history if isinstance(e, WorkflowStarted)][-1]
    assert not output.events
    assert replay(SERVICE, history).ok
    # The earlier runs' timers were fired, none is left waiting but the current one's.
    assert [e.seq for e in history[instance.run_start :] if isinstance(e, TimerScheduled)] == [6]


async def test_signals_sent_during_the_hand_over_reach_the_next_run(
    any_engine_factory: EngineFactory, clock: ManualClock
) -> None:
    """Signals kept and not consumed by a run are the next run's, in arrival order."""
    engine = any_engine_factory(SERVICE)
    id_ = await engine.start_execution("inbox", [], "i")
    for item in ("a", "b", "c"):
        await engine.send_signal(id_, "note", item)
    await engine.run_until_idle()
    for _ in range(3):
        await engine.advance_to(clock.now() + timedelta(minutes=1))
    assert await engine.execution_result(id_) == ["a", "b", "c"]
    history = await engine.execution_history(id_)
    handed = [
        [e.payload for e in history[start + 1 :] if isinstance(e, SignalReceived)][:2]
        for start, e in enumerate(history)
        if isinstance(e, WorkflowStarted) and e.run == 2
    ]
    assert handed == [["b", "c"]]


async def test_except_exception_does_not_swallow_it(engine_factory: EngineFactory) -> None:
    """continue_as_new ends the run even inside ``try/except Exception``."""
    engine = engine_factory(SERVICE)
    id_ = await engine.start_execution("swallower", 0, "s")
    await engine.run_until_idle()
    assert await engine.execution_result(id_) == 2


def test_outside_a_workflow_it_is_refused() -> None:
    """Called outside a workflow, continue_as_new raises RuntimeNotAvailable."""
    with pytest.raises(RuntimeNotAvailable, match="inside a workflow"):
        continue_as_new(1)


async def test_a_signal_after_the_end_of_a_run_reaches_the_next(
    engine_factory: EngineFactory, clock: ManualClock
) -> None:
    """A signal sent after a run continued is delivered to the run that follows."""
    engine: Engine = engine_factory(SERVICE)
    id_ = await engine.start_execution("inbox", ["x", "y"], "late")
    await engine.send_signal(id_, "note", "z")
    await engine.advance_to(clock.now() + timedelta(minutes=1))
    assert await engine.execution_result(id_) == ["x", "y", "z"]


async def test_a_run_handed_signals_runs_its_first_step_as_new_code(
    any_engine_factory: EngineFactory, clock: ManualClock
) -> None:
    """A run that starts with handed-over signals takes patches and logs in its first step."""
    engine = any_engine_factory(SERVICE)
    id_ = await engine.start_execution("relabel", [], "r")
    await engine.run_until_idle()
    await engine.send_signal(id_, "note", "kept")
    await engine.run_until_idle()
    await engine.advance_to(clock.now() + timedelta(minutes=1))
    assert await engine.execution_result(id_) == [True, True]
    store = log_store(engine.backend)
    assert store is not None
    assert [e.message for e in await store.read_logs(id_, 0)] == [
        "run 1 took the label: True",
        "run 1 hands over",
        "run 2 took the label: True",
    ]
    history = await engine.execution_history(id_)
    second = [i for i, e in enumerate(history) if isinstance(e, WorkflowStarted)][-1]
    assert [e.payload for e in history[second:] if isinstance(e, SignalReceived)] == ["kept"]
    # Replayed later, the run gives the same answer from its record.
    replayed = replay(SERVICE, history)
    assert replayed.ok
    assert replayed.result == [True, True]
    assert replayed.patches == ("label",)


def test_a_run_recorded_without_the_patch_replays_without_it() -> None:
    """A history whose handed-signals run did not take a patch still replays as recorded."""
    path = histories.FOLDER / "continued" / "handed_signals.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    history = [history_event_from_json(e) for e in document["events"]]
    replayed = replay(SERVICE, history)
    assert replayed.ok
    assert replayed.result == [True, False]
