"""An orchestration round that fails gives back the claims it did not consume.

Two engines share one in-memory backend, as two processes share a database;
the first sees it through a wrapper whose commits (and releases) can fail. Every
lease lasts an hour, so the other engine can only take over what was given back.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import timedelta

import pytest

from eventual import ExecutionStatus, Service, task, workflow
from eventual.history import ExecutionRecord, HistoryEvent, PublishedEvent, WorkflowStarted
from eventual.spi import (
    ExecutionFilter,
    ExecutionPage,
    IdempotencyStore,
    InboundBatch,
    InboundMessage,
    StepCommit,
    TaskDispatch,
    TimerRequest,
    TimerService,
)
from eventual_engine import BackendClient, Engine, EngineOptions, MemoryBackend
from eventual_engine._logs import MemoryLogs


@task
async def double(x: int) -> int:
    return 2 * x


@workflow
async def doubled(x: int) -> int:
    return await double(x)


@workflow
async def echo(x: int) -> int:
    return x


SERVICE = Service.from_definitions("rounds", [double, doubled, echo])

HOUR = timedelta(hours=1)


class _Store:
    """The shared execution store, except that commits of ``failing`` executions raise."""

    def __init__(self, backend: MemoryBackend) -> None:
        self._store = backend.executions
        self.failing: dict[str, int] = {}  # execution id: commits left to fail
        self.after_failure: set[str] = set()  # executions whose commits wait for a failure
        self._failed = asyncio.Event()

    async def create(
        self, record: ExecutionRecord, started: WorkflowStarted, timers: Sequence[TimerRequest]
    ) -> ExecutionRecord:
        return await self._store.create(record, started, timers)

    async def get(self, execution_id: str) -> ExecutionRecord | None:
        return await self._store.get(execution_id)

    async def list(self, query: ExecutionFilter) -> ExecutionPage:
        return await self._store.list(query)

    async def history(self, execution_id: str, after: int = 0) -> builtins.list[HistoryEvent]:
        return await self._store.history(execution_id, after)

    async def commit(self, step: StepCommit) -> None:
        left = self.failing.get(step.execution_id, 0)
        if left:
            self.failing[step.execution_id] = left - 1
            self._failed.set()
            raise ConnectionError(f"connection lost committing {step.execution_id}")
        if step.execution_id in self.after_failure:
            await self._failed.wait()
            for _ in range(10):
                await asyncio.sleep(0)  # long enough for a round that stops at a failure to end
        await self._store.commit(step)


class _Queue:
    """The shared queue, except that releases raise while ``releases_fail`` is set."""

    def __init__(self, backend: MemoryBackend) -> None:
        self._queue = backend.queue
        self.releases_fail = False

    async def enqueue(self, messages: Sequence[InboundMessage]) -> None:
        await self._queue.enqueue(messages)

    async def claim(self, owner: str, limit: int, lease: timedelta) -> builtins.list[InboundBatch]:
        return await self._queue.claim(owner, limit, lease)

    async def release(self, batch: InboundBatch) -> None:
        if self.releases_fail:
            raise ConnectionError(f"connection lost releasing {batch.execution_id}")
        await self._queue.release(batch)

    async def pending(self) -> int:
        return await self._queue.pending()


class _Flaky:
    """The shared backend as one process sees it, over a connection that can fail."""

    def __init__(self, backend: MemoryBackend) -> None:
        self._backend = backend
        self._store = _Store(backend)
        self._queue = _Queue(backend)

    @property
    def executions(self) -> _Store:
        return self._store

    @property
    def queue(self) -> _Queue:
        return self._queue

    @property
    def timers(self) -> TimerService:
        return self._backend.timers

    @property
    def tasks(self) -> TaskDispatch:
        return self._backend.tasks

    @property
    def idempotency(self) -> IdempotencyStore:
        return self._backend.idempotency

    @property
    def logs(self) -> MemoryLogs:
        return self._backend.logs

    async def open(self) -> _Flaky:
        return self

    async def published(self, limit: int) -> builtins.list[tuple[str, PublishedEvent]]:
        return await self._backend.published(limit)

    async def ack_published(self, ids: Sequence[str]) -> None:
        await self._backend.ack_published(ids)

    async def close(self) -> None:
        await self._backend.close()


class _Errors(logging.Handler):
    """Collects the engine's error records; lets a test wait for one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._changed.set()

    def find(self, text: str) -> logging.LogRecord | None:
        return next((r for r in self.records if text in r.getMessage()), None)

    async def wait_for(self, text: str) -> logging.LogRecord:
        while (record := self.find(text)) is None:
            self._changed.clear()
            await self._changed.wait()
        return record


@pytest.fixture
def errors() -> Iterator[_Errors]:
    """The error records of the engine's logger while the test runs."""
    handler = _Errors()
    logger = logging.getLogger("eventual.engine")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@contextlib.asynccontextmanager
async def _serving(engine: Engine) -> AsyncIterator[None]:
    serving = asyncio.create_task(engine.serve())
    try:
        yield
        assert not serving.done(), "the engine's loops ended"
    finally:
        await engine.stop()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


def _original_error(record: logging.LogRecord) -> BaseException | None:
    return record.exc_info[1] if record.exc_info else None


async def test_a_failed_commit_leaves_the_execution_to_another_process_at_once(
    errors: _Errors,
) -> None:
    """A step whose commit raises is given back: another process runs it with no lease lapsing."""
    shared = MemoryBackend()
    flaky = _Flaky(shared)
    client = BackendClient(SERVICE, shared)
    id_ = await client.start_execution(doubled.name, 21, "answer")
    flaky.executions.failing[id_] = 1
    # A long poll: the failed round is the first engine's only look at the queue.
    first = Engine(SERVICE, flaky, options=EngineOptions(lease=HOUR, poll_interval=60))
    other = Engine(SERVICE, shared, options=EngineOptions(lease=HOUR))
    async with _serving(first):
        failure = await asyncio.wait_for(errors.wait_for("orchestrator loop failed"), 10)
    assert isinstance(_original_error(failure), ConnectionError)
    await other.run_until_idle()
    record = await other.execution_record(id_)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, 42)


async def test_a_failed_step_does_not_hold_up_the_steps_of_its_round(errors: _Errors) -> None:
    """A round's other steps commit before it ends; only the failing step is given back."""
    shared = MemoryBackend()
    flaky = _Flaky(shared)
    client = BackendClient(SERVICE, shared)
    failing = await client.start_execution(echo.name, 1, "failing")
    fine = await client.start_execution(echo.name, 2, "fine")
    flaky.executions.failing[failing] = 1
    flaky.executions.after_failure.add(fine)  # still committing when the other fails
    first = Engine(SERVICE, flaky, options=EngineOptions(lease=HOUR))
    other = Engine(SERVICE, shared, options=EngineOptions(lease=HOUR))
    with pytest.raises(ConnectionError):
        await first.orchestrate_once()
    assert (await client.execution_record(fine)).result == 2
    assert await client.execution_status(failing) == ExecutionStatus.RUNNING
    await other.run_until_idle()
    assert (await client.execution_record(failing)).result == 1
    assert errors.records == []  # the error was the caller's to handle


async def test_a_failed_release_keeps_the_original_error_and_the_loop(errors: _Errors) -> None:
    """When giving back fails too, both failures are logged and the engine goes on working."""
    shared = MemoryBackend()
    flaky = _Flaky(shared)
    client = BackendClient(SERVICE, shared)
    stuck = await client.start_execution(echo.name, 1, "stuck")
    flaky.executions.failing[stuck] = 1
    flaky.queue.releases_fail = True
    first = Engine(SERVICE, flaky, options=EngineOptions(lease=HOUR, poll_interval=0.01))
    async with _serving(first):
        failure = await asyncio.wait_for(errors.wait_for("orchestrator loop failed"), 10)
        release = errors.find("could not give back its claim on " + stuck)
        assert release is not None
        assert "connection lost releasing" in str(_original_error(release))
        assert "connection lost committing" in str(_original_error(failure))
        # Still held by the first engine, for its lease; new work runs meanwhile.
        later = await client.start_execution(echo.name, 2, "later")
        assert (await first.wait(later, timeout=10)).result == 2
    assert await client.execution_status(stuck) == ExecutionStatus.RUNNING
