"""continue_as_new and at-least-once delivery: a repeat of a message an earlier run applied."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from eventual import ExecutionStatus, Service, continue_as_new, signal, workflow
from eventual.history import (
    HistoryEvent,
    SignalReceived,
    WorkflowCancelRequested,
    WorkflowStarted,
    history_event_from_json,
    history_event_to_json,
)
from eventual.spi import InboundMessage
from eventual_engine import Engine, ManualClock, replay
from eventual_engine._executor._repeats import HANDED_ON_LIMIT, REPEAT_WINDOW, AppliedIds

from .conftest import EngineFactory

T0 = datetime(2026, 1, 1, tzinfo=UTC)

go = signal("go", str)


@workflow
async def loop(n: int) -> str:
    got = await go.expect()
    if n == 0:
        continue_as_new(1)
    return got


@workflow
async def hop(n: int) -> str:
    got = await go.expect()
    if n < 3:
        continue_as_new(n + 1)
    return got


@workflow
async def stubborn(n: int) -> str:
    try:
        return await go.expect()
    except asyncio.CancelledError:
        if n == 0:
            continue_as_new(1)  # the first run survives a cancel request
        raise


SERVICE = Service.from_definitions("repeats", [go, hop, loop, stubborn])


async def _send(engine: Engine, execution_id: str, message_id: str, payload: str) -> None:
    """Queue signal ``go`` under a given message id, as a producer writing it again does."""
    event = SignalReceived(
        timestamp=engine.clock.now(), signal="go", payload=payload, id=message_id
    )
    await engine.backend.queue.enqueue(
        [InboundMessage(id=message_id, execution_id=execution_id, event=event)]
    )
    await engine.run_until_idle()


async def _cancel(engine: Engine, execution_id: str, message_id: str) -> None:
    """Queue a cancel request under a given message id."""
    event = WorkflowCancelRequested(timestamp=engine.clock.now(), reason="test", id=message_id)
    await engine.backend.queue.enqueue(
        [InboundMessage(id=message_id, execution_id=execution_id, event=event)]
    )
    await engine.run_until_idle()


def _signals(history: Sequence[HistoryEvent]) -> list[tuple[str, int]]:
    """The payload of each ``SignalReceived`` and the run that applied it."""
    run, found = 0, list[tuple[str, int]]()
    for event in history:
        if isinstance(event, WorkflowStarted):
            run = event.run
        elif isinstance(event, SignalReceived):
            assert isinstance(event.payload, str)
            found.append((event.payload, run))
    return found


async def test_a_repeat_after_the_hand_over_is_ignored_by_the_next_run(
    any_engine_factory: EngineFactory,
) -> None:
    """A signal run 1 applied, queued again once run 2 has started, is not applied by run 2."""
    engine = any_engine_factory(SERVICE)
    id_ = await engine.start_execution("loop", 0, "l")
    await engine.run_until_idle()
    await _send(engine, id_, "s-1", "first")
    assert (await engine.execution_record(id_)).run == 2
    await _send(engine, id_, "s-1", "first")  # the repeat, in a later batch
    record = await engine.execution_record(id_)
    assert (record.status, record.run) == (ExecutionStatus.RUNNING, 2)
    await _send(engine, id_, "s-2", "second")
    record = await engine.execution_record(id_)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, "second")
    history = list(await engine.execution_history(id_))
    assert _signals(history) == [("first", 1), ("second", 2)]
    assert replay(SERVICE, history).ok


async def test_a_fresh_engine_still_ignores_the_repeat(
    any_engine_factory: EngineFactory, clock: ManualClock
) -> None:
    """Run 2 rebuilt from its history alone knows the ids run 1 applied."""
    engine = any_engine_factory(SERVICE)
    id_ = await engine.start_execution("loop", 0, "f")
    await engine.run_until_idle()
    await _send(engine, id_, "s-1", "first")
    fresh = Engine(SERVICE, engine.backend, clock=clock)
    await _send(fresh, id_, "s-1", "first")
    assert fresh.orchestrator.replays == 1
    assert (await fresh.execution_record(id_)).status is ExecutionStatus.RUNNING
    await _send(fresh, id_, "s-2", "second")
    assert (await fresh.execution_record(id_)).result == "second"


async def test_a_repeat_two_short_runs_later_is_ignored(
    any_engine_factory: EngineFactory,
) -> None:
    """Runs shorter than the window hand on what they were handed: run 3 ignores run 1's id."""
    engine = any_engine_factory(SERVICE)
    id_ = await engine.start_execution("hop", 1, "h")
    await engine.run_until_idle()
    await _send(engine, id_, "s-1", "one")
    await _send(engine, id_, "s-2", "two")
    assert (await engine.execution_record(id_)).run == 3
    await _send(engine, id_, "s-1", "one")
    assert (await engine.execution_record(id_)).status is ExecutionStatus.RUNNING
    await _send(engine, id_, "s-3", "three")
    record = await engine.execution_record(id_)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, "three")
    history = list(await engine.execution_history(id_))
    assert _signals(history) == [("one", 1), ("two", 2), ("three", 3)]
    starts = [e for e in history if isinstance(e, WorkflowStarted)]
    assert [e.applied_ids for e in starts] == [(), ("s-1",), ("s-1", "s-2")]


async def test_ids_older_than_the_window_are_not_handed_on(
    engine_factory: EngineFactory, clock: ManualClock
) -> None:
    """A run that lasted longer than the window hands on only the ids it applied recently."""
    engine = engine_factory(SERVICE)
    id_ = await engine.start_execution("hop", 1, "w")
    await engine.run_until_idle()
    await _send(engine, id_, "s-1", "one")
    clock.set(clock.now() + REPEAT_WINDOW + timedelta(seconds=1))
    await _send(engine, id_, "s-2", "two")
    history = list(await engine.execution_history(id_))
    starts = [e for e in history if isinstance(e, WorkflowStarted)]
    assert [e.applied_ids for e in starts] == [(), ("s-1",), ("s-2",)]


async def test_a_repeated_cancel_request_does_not_cancel_the_next_run(
    any_engine_factory: EngineFactory,
) -> None:
    """A cancel request run 1 survived, queued again, leaves run 2 running; a new one cancels it."""
    engine = any_engine_factory(SERVICE)
    id_ = await engine.start_execution("stubborn", 0, "c")
    await engine.run_until_idle()
    await _cancel(engine, id_, "c-1")
    assert (await engine.execution_record(id_)).run == 2
    await _cancel(engine, id_, "c-1")
    record = await engine.execution_record(id_)
    assert (record.status, record.run) == (ExecutionStatus.RUNNING, 2)
    await engine.cancel_execution(id_)
    await engine.run_until_idle()
    assert (await engine.execution_record(id_)).status is ExecutionStatus.CANCELLED
    history = list(await engine.execution_history(id_))
    requests = [e for e in history if isinstance(e, WorkflowCancelRequested)]
    assert len(requests) == 2
    assert requests[0].id == "c-1"
    assert requests[1].id.startswith(f"{id_}|cancel|")
    assert replay(SERVICE, history).ok


def test_a_run_hands_on_at_most_the_newest_limit_of_ids() -> None:
    """However many messages a run applied, the next run is handed the newest few hundred."""
    start = T0
    applied = AppliedIds(["old"], start)
    for n in range(HANDED_ON_LIMIT + 10):
        assert applied.first_arrival(f"s-{n}", start + timedelta(seconds=n))
    assert not applied.first_arrival("old", start)
    handed = applied.handed_on(start + timedelta(hours=1), skip=lambda _: False)
    assert len(handed) == HANDED_ON_LIMIT
    assert handed[-1] == f"s-{HANDED_ON_LIMIT + 9}"
    assert "old" not in handed


def test_a_start_recorded_without_applied_ids_reads_as_none_handed() -> None:
    """A ``WorkflowStarted`` recorded before runs were handed ids still decodes."""
    started = WorkflowStarted(timestamp=T0, execution_id="w/a", workflow="w", name="a", input=1)
    data = history_event_to_json(started)
    del data["applied_ids"]
    assert history_event_from_json(data) == started
