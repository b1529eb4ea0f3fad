"""Plain ``def`` task bodies run on the engine's own threads, and only as many are claimed."""

from __future__ import annotations

import asyncio
import threading

import pytest

from eventual import Service, task, workflow
from eventual_engine import BackendClient, Engine, EngineOptions, ManualClock, MemoryBackend

started = threading.Semaphore(0)
release = threading.Event()


@task
def hold(_: None) -> str:
    started.release()
    release.wait()
    return threading.current_thread().name


@workflow
async def held(_: None) -> str:
    return await hold(None)


SERVICE = Service.from_definitions("threads", [hold, held])


async def _started(count: int) -> None:
    """Wait until ``count`` more bodies are running on their threads."""
    for _ in range(count):
        assert await asyncio.to_thread(started.acquire, timeout=30)


@pytest.fixture(autouse=True)
def _reset() -> None:
    release.clear()


async def test_def_attempts_beyond_the_threads_stay_for_another_process(
    clock: ManualClock,
) -> None:
    """A process claims no more ``def`` attempts than it has threads; another takes the rest."""
    backend = MemoryBackend()
    client = BackendClient(SERVICE, backend)
    # Room for many attempts, but threads for two ``def`` bodies.
    options = EngineOptions(task_concurrency=64, task_threads=2)
    first = Engine(SERVICE, backend, clock=clock, options=options)
    other = Engine(SERVICE, backend, clock=clock, options=options)
    ids = [await client.start_execution(held.name, None, f"held-{n}") for n in range(3)]

    assert await first.orchestrate_once() == 2
    await _started(2)
    assert first.tasks.free == 0
    assert await first.tasks.claim_and_start() == 0

    assert await other.orchestrate_once() == 1
    await _started(1)
    assert (first.tasks.attempts, other.tasks.attempts) == (2, 1)

    release.set()
    # Each attempt commits its outcome, and so the workflow's end, before it ends.
    await asyncio.gather(*first.tasks.running.values(), *other.tasks.running.values())
    results = [await first.execution_result(id_) for id_ in ids]
    assert all(str(name).startswith("eventual-task") for name in results)


async def test_async_only_services_ignore_the_thread_limit(clock: ManualClock) -> None:
    """A service without ``def`` tasks keeps the whole task concurrency."""
    service = Service.from_definitions("async-only", [])
    engine = Engine(service, MemoryBackend(), clock=clock, options=EngineOptions(task_threads=1))
    assert engine.tasks.free == 64
