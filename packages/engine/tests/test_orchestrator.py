"""The orchestrator: its cache of live instances and idempotent inbound events."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest

from eventual import ExecutionStatus, Service, complete_async, signal, task, task_info, workflow
from eventual.history import HistoryEvent, TaskSucceeded
from eventual.spi import InboundMessage
from eventual_engine import Engine, EngineOptions, ManualClock, MemoryBackend, StepOutput

tokens: list[str] = []

step = signal("step", int)


@task
async def add_one(x: int) -> int:
    return x + 1


@task
async def external(key: str) -> str:
    tokens.append(task_info().token)
    complete_async()


@workflow
async def collect(rounds: int) -> list[int]:
    return [await step.expect() for _ in range(rounds)]


@workflow
async def count_up(n: int) -> int:
    total = 0
    for _ in range(n):
        total = await add_one(total)
    return total


@workflow
async def two_externals(_: None) -> list[str]:
    return [await external("first"), await external("second")]


SERVICE = Service.from_definitions(
    "orchestrator", [step, add_one, external, collect, count_up, two_externals]
)

EXECUTIONS = 5
ROUNDS = 3


@pytest.mark.parametrize(
    ("cache_size", "replays"),
    [
        # Every start replays its one-event history (a miss), then each rotating signal
        # finds its execution evicted by the two used since (5 starts + 5 x 3 signals),
        # except the last execution's final signal: in the last round each ending
        # instance is dropped from the cache, so it is still cached by then.
        (2, EXECUTIONS + EXECUTIONS * ROUNDS - 1),
        (10_000, EXECUTIONS),  # only the starts
    ],
)
async def test_cache_misses_replay(clock: ManualClock, cache_size: int, replays: int) -> None:
    """Interleaved executions finish correctly whatever the cache size; misses are counted."""
    engine = Engine(
        SERVICE, MemoryBackend(), clock=clock, options=EngineOptions(cache_size=cache_size)
    )
    ids = [await engine.start_execution("collect", ROUNDS, f"e{i}") for i in range(EXECUTIONS)]
    await engine.run_until_idle()
    for round_ in range(ROUNDS):
        for index, id_ in enumerate(ids):
            await engine.send_signal(id_, "step", 10 * round_ + index)
            await engine.run_until_idle()
    for index, id_ in enumerate(ids):
        assert await engine.execution_result(id_) == [index, 10 + index, 20 + index]
    assert engine.orchestrator.replays == replays


@pytest.mark.parametrize(("cache_size", "replays"), [(10_000, 1), (0, 21)])
async def test_sequential_steps_do_not_replay(
    clock: ManualClock, cache_size: int, replays: int
) -> None:
    """With a cache, n sequential tasks cost one replay (the start), not one per step."""
    engine = Engine(
        SERVICE, MemoryBackend(), clock=clock, options=EngineOptions(cache_size=cache_size)
    )
    id_ = await engine.start_execution("count_up", 20, "n")
    await engine.run_until_idle()
    assert await engine.execution_result(id_) == 20
    # Without a cache every one of the 21 steps (start + 20 completions) replays.
    assert engine.orchestrator.replays == replays
    assert [e.type for e in await engine.execution_history(id_)].count("TaskSucceeded") == 20


@pytest.mark.parametrize("evict", [False, True], ids=["cached", "replayed"])
async def test_redelivered_completion_applies_once(clock: ManualClock, evict: bool) -> None:
    """A task completion delivered twice (same or another message id) is recorded once."""
    tokens.clear()
    engine = Engine(SERVICE, MemoryBackend(), clock=clock)
    id_ = await engine.start_execution("two_externals", None, "once")
    await engine.run_until_idle()
    [first] = tokens

    def completion(message_id: str, result: str) -> InboundMessage:
        event = TaskSucceeded(timestamp=clock.now(), seq=1, attempt=1, result=result)
        return InboundMessage(id=message_id, execution_id=id_, event=event)

    queue = engine.backend.queue
    await queue.enqueue([completion(f"{first}|done", "one")])
    await queue.enqueue([completion(f"{first}|done", "same id")])  # a duplicate still queued
    await engine.run_until_idle()
    assert len(tokens) == 2  # the second task started after the first completion
    if evict:
        engine.orchestrator.clear()  # the duplicates now meet an instance rebuilt from history
    await queue.enqueue([completion(f"{first}|done", "same id, after commit")])
    await queue.enqueue([completion("redelivered", "another id")])
    await engine.run_until_idle()
    await engine.complete_task(tokens[1], "two")
    await engine.run_until_idle()

    assert await engine.execution_result(id_) == ["one", "two"]
    history = await engine.execution_history(id_)
    completions = [e for e in history if isinstance(e, TaskSucceeded) and e.seq == 1]
    assert [e.result for e in completions] == ["one"]
    assert len(tokens) == 2  # no task was scheduled again
    assert await engine.execution_status(id_) is ExecutionStatus.SUCCEEDED


class _CountingQueue:
    """Counts claims made through the queue and the task dispatch."""

    def __init__(self, backend: MemoryBackend) -> None:
        self.queue_claims = 0
        self.task_claims = 0
        queue_claim, task_claim = backend.queue.claim, backend.tasks.claim

        async def count_queue(*args: object, **kwargs: object) -> object:
            batches = await queue_claim(*args, **kwargs)  # type: ignore[arg-type]
            self.queue_claims += len(batches)
            return batches

        async def count_tasks(*args: object, **kwargs: object) -> object:
            requests = await task_claim(*args, **kwargs)  # type: ignore[arg-type]
            self.task_claims += len(requests)
            return requests

        backend.queue.claim = count_queue  # type: ignore[method-assign,assignment]
        backend.tasks.claim = count_tasks  # type: ignore[method-assign,assignment]


async def test_steps_flow_from_commit_to_task_to_next_step(clock: ManualClock) -> None:
    """A start, its tasks and their outcomes flow from commit to commit with no claim at all."""
    backend = MemoryBackend()
    counting = _CountingQueue(backend)
    engine = Engine(SERVICE, backend, clock=clock)
    id_ = await engine.start_execution(count_up.name, 3, "eager")
    await engine.run_until_idle()
    assert (await engine.execution_record(id_)).result == 3
    assert engine.tasks.attempts == 3
    # The first step runs in start_execution, each outcome is committed in place
    # with the next step, and each task starts from the commit that scheduled it.
    assert counting.queue_claims == 0
    assert await backend.queue.pending() == 0
    assert counting.task_claims == 0


async def test_tasks_beyond_the_free_concurrency_wait_for_a_claim(clock: ManualClock) -> None:
    """With no room in the worker, committed tasks wait to be claimed the ordinary way."""
    backend = MemoryBackend()
    counting = _CountingQueue(backend)
    engine = Engine(SERVICE, backend, clock=clock, options=EngineOptions(task_concurrency=0))
    await engine.start_execution(count_up.name, 1, "busy")
    await engine.run_until_idle()
    assert counting.task_claims == 0
    assert await backend.tasks.pending() == 1
    assert engine.tasks.attempts == 0


async def test_an_engine_error_mid_step_drops_the_live_instance(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If applying events fails unexpectedly, the half-applied instance is never reused."""
    from eventual_engine import WorkflowInstance

    lease = timedelta(milliseconds=50)
    engine = Engine(SERVICE, MemoryBackend(), clock=clock, options=EngineOptions(lease=lease))
    id_ = await engine.start_execution(collect.name, 2, "broken-step")
    await engine.run_until_idle()
    original = WorkflowInstance.apply
    failures = [RuntimeError("disk on fire")]

    def apply_once_failing(self: WorkflowInstance, events: Sequence[HistoryEvent]) -> StepOutput:
        output = original(self, events)  # mutates the instance...
        if failures:
            raise failures.pop()  # ...then fails before the step is committed
        return output

    monkeypatch.setattr(WorkflowInstance, "apply", apply_once_failing)
    await engine.send_signal(id_, "step", 1)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await engine.orchestrate_once()
    replays = engine.orchestrator.replays
    # Once the claim lapses the message is processed again, from history: had the
    # half-applied instance been kept, the signal would be applied twice.
    await asyncio.sleep(lease.total_seconds() * 2)
    await engine.send_signal(id_, "step", 2)
    await engine.run_until_idle()
    assert (await engine.execution_record(id_)).result == [1, 2]
    assert engine.orchestrator.replays == replays + 1
