"""Task workers: what a deadline may interrupt (the timeouts themselves: test_workflows)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta

import pytest

from eventual import ExecutionStatus, RetryPolicy, Service, task, workflow
from eventual.history import TaskStarted, TaskSucceeded
from eventual.spi import InboundBatch
from eventual_engine import BackendClient, Engine, EngineOptions, ManualClock, MemoryBackend


@task(timeout=timedelta(seconds=5))
async def quick(x: int) -> int:
    return x


@workflow
async def one_quick(x: int) -> int:
    return await quick(x)


SERVICE = Service.from_definitions("workers", [quick, one_quick])


async def test_a_deadline_does_not_cancel_an_attempt_committing_its_outcome(
    clock: ManualClock,
) -> None:
    """Once the body returned, a deadline leaves the attempt to commit its outcome."""
    engine = Engine(SERVICE, MemoryBackend(), clock=clock)
    commit = engine.backend.executions.commit
    cancelled: list[bool] = []

    async def commit_after_the_deadline(step: object) -> None:
        # The deadline arrives while the outcome's commit is under way.
        if step.finished:  # type: ignore[attr-defined]
            for token in list(engine.tasks.running):
                engine.tasks.cancel(token)
            await asyncio.sleep(0)
            cancelled.append(any(t.cancelling() for t in engine.tasks.running.values()))
        await commit(step)  # type: ignore[arg-type]

    engine.backend.executions.commit = commit_after_the_deadline  # type: ignore[method-assign]
    id_ = await engine.start_execution(one_quick.name, 7, "quick")
    await engine.run_until_idle()
    assert cancelled == [False]
    assert (await engine.execution_record(id_)).result == 7


class _Watched(MemoryBackend):
    """A memory backend that, like a server database, announces work added behind the engine."""

    def __init__(self) -> None:
        super().__init__()
        self.wake: asyncio.Queue[object] = asyncio.Queue()

    async def watch(self, wake: Callable[[str], None]) -> None:
        while True:
            await self.wake.get()
            wake("orchestrator")
            wake("no such loop")  # unknown names are ignored


@task
async def _triple(n: int) -> int:
    return 3 * n


@workflow
async def _tripled(n: int) -> int:
    return await _triple(n)


async def test_a_backend_that_watches_for_work_wakes_an_engine_between_polls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Work queued behind an engine's back runs when the backend's watch says so, not at a poll."""
    backend = _Watched()
    service = Service.from_definitions("watched", [_triple, _tripled])
    engine = Engine(service, backend, options=EngineOptions(poll_interval=60))
    outsider = BackendClient(service, backend)
    # What each look of the orchestrator at the queue took, and where the watch rang.
    seen: list[str] = []
    looked = asyncio.Event()
    claim = backend.queue.claim

    async def recording_claim(owner: str, limit: int, lease: timedelta) -> list[InboundBatch]:
        batches = await claim(owner, limit, lease)
        seen.append(" ".join(b.execution_id for b in batches) or "nothing")
        looked.set()
        return batches

    monkeypatch.setattr(backend.queue, "claim", recording_claim)
    serving = asyncio.create_task(engine.serve())
    try:
        await asyncio.wait_for(looked.wait(), timeout=10)  # now it waits out the 60 s poll
        execution_id = await outsider.start_execution("_tripled", 5, "five")
        for _ in range(50):
            await asyncio.sleep(0)  # every loop that is ready runs; none may look again
        assert await outsider.execution_status(execution_id) == ExecutionStatus.RUNNING
        seen.append("wake")
        backend.wake.put_nowait(None)
        record = await asyncio.wait_for(outsider.wait(execution_id), timeout=10)
        assert record.status == ExecutionStatus.SUCCEEDED
        assert seen[:3] == ["nothing", "wake", execution_id]
    finally:
        await engine.stop()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


flaky_runs: list[int] = []


@task(retry=RetryPolicy(max_attempts=2, initial_interval=timedelta(seconds=10)))
async def flaky(x: int) -> int:
    flaky_runs.append(x)
    if len(flaky_runs) == 1:
        raise ValueError("first attempt fails")
    return x


@workflow
async def calls_flaky(x: int) -> int:
    return await flaky(x)


async def test_each_attempt_records_when_it_started(clock: ManualClock) -> None:
    """TaskStarted, written with each outcome, carries its attempt and the time it started."""
    flaky_runs.clear()
    service = Service.from_definitions("started", [flaky, calls_flaky])
    engine = Engine(service, MemoryBackend(), clock=clock)
    began = clock.now()
    id_ = await engine.start_execution("calls_flaky", 7, "s")
    await engine.run_until_idle()
    await engine.advance_to(began + timedelta(seconds=10))
    await engine.run_until_idle()
    assert (await engine.execution_record(id_)).status is ExecutionStatus.SUCCEEDED
    history = await engine.execution_history(id_)
    kinds = [event.type for event in history]
    assert kinds[1:7] == [
        "TaskScheduled",
        "TaskStarted",
        "TaskRetryScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "WorkflowSucceeded",
    ]
    started = [event for event in history if isinstance(event, TaskStarted)]
    assert [(e.seq, e.attempt, e.timestamp) for e in started] == [
        (1, 1, began),
        (1, 2, began + timedelta(seconds=10)),
    ]
    succeeded = next(event for event in history if isinstance(event, TaskSucceeded))
    assert succeeded.started_at is None  # recorded as TaskStarted, not twice
