"""Engines sharing a backend: an execution stays where its instance lives, and no work waits."""

from __future__ import annotations

import asyncio

from eventual import ExecutionStatus, Service, task, workflow
from eventual_engine import BackendClient, Engine, EngineOptions, ManualClock, MemoryBackend

gates: list[asyncio.Event] = []


@task
async def add_one(x: int) -> int:
    return x + 1


@task
async def wait_for_gate(_: None) -> None:
    gate = asyncio.Event()
    gates.append(gate)
    await gate.wait()


@workflow
async def count_up(n: int) -> int:
    total = 0
    for _ in range(n):
        total = await add_one(total)
    return total


@workflow
async def blocked(_: None) -> None:
    await wait_for_gate(None)


SERVICE = Service.from_definitions("affinity", [add_one, wait_for_gate, count_up, blocked])


async def _work(engine: Engine, *, tasks: bool = True) -> int:
    """One round of ``engine``'s loops: orchestration, then (optionally) task claims."""
    progressed = await engine.orchestrate_once()
    if tasks:
        progressed += await engine.tasks.claim_and_start()
    # Let started attempts run to their end (or to a gate they wait on).
    for _ in range(20):
        await asyncio.sleep(0)
    return progressed


async def _run(backend: MemoryBackend, id_: str, *engines: Engine) -> None:
    """Run ``engines`` in turn, the last one first, until the execution ``id_`` ends."""
    for _ in range(1_000):
        record = await backend.executions.get(id_)
        assert record is not None
        if record.status is not ExecutionStatus.RUNNING:
            return
        for engine in reversed(engines):
            await _work(engine)
    raise AssertionError(f"execution {id_} did not end")


async def test_a_chain_of_tasks_runs_where_the_execution_lives(clock: ManualClock) -> None:
    """A chain of tasks runs where the execution lives, even with room for one attempt there."""
    backend = MemoryBackend()
    one_slot = EngineOptions(task_concurrency=1)
    first = Engine(SERVICE, backend, clock=clock, options=one_slot)
    other = Engine(SERVICE, backend, clock=clock, options=one_slot)
    id_ = await BackendClient(SERVICE, backend).start_execution(count_up.name, 5, "chain")
    await _work(first, tasks=False)  # the first step (and its task) lands in ``first``
    await _run(backend, id_, first, other)
    assert await first.execution_result(id_) == 5
    assert (first.tasks.attempts, other.tasks.attempts) == (5, 0)
    # Only the first step read the history: every outcome applied to the live instance.
    assert first.orchestrator.replays + other.orchestrator.replays == 1


async def test_a_busy_process_leaves_its_work_to_others(clock: ManualClock) -> None:
    """A process with no room for tasks still takes executions; another runs their tasks."""
    gates.clear()
    backend = MemoryBackend()
    client = BackendClient(SERVICE, backend)
    busy = Engine(SERVICE, backend, clock=clock, options=EngineOptions(task_concurrency=1))
    other = Engine(SERVICE, backend, clock=clock)
    held = await client.start_execution(blocked.name, None, "held")
    await _work(busy, tasks=False)
    assert len(gates) == 1
    assert busy.tasks.free == 0

    id_ = await client.start_execution(count_up.name, 2, "elsewhere")
    assert await _work(busy, tasks=False) == 1  # claimed and stepped despite the full worker
    # ``busy`` never works again (as if it had died): ``other`` runs every task.
    await _run(backend, id_, other)
    assert await other.execution_result(id_) == 2
    assert other.tasks.attempts == 2
    assert busy.tasks.attempts == 1

    gates[0].set()
    await _run(backend, held, busy)
    assert await busy.execution_result(held) is None
