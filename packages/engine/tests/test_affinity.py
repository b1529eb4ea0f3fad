"""Engines sharing a backend: an execution stays where its instance lives, and no work waits."""

from __future__ import annotations

import asyncio

from eventual import ExecutionStatus, Service, signal, task, workflow
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


go = signal("go", int)


@workflow
async def wait_for_go(_: None) -> int:
    return await go.expect()


SERVICE = Service.from_definitions(
    "affinity", [add_one, wait_for_gate, count_up, blocked, wait_for_go]
)


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


class _Listening(Engine):
    """An engine that remembers which loops it was asked to wake."""

    woken: list[str]

    def notify(self, *loops: str) -> None:
        self.woken = [*getattr(self, "woken", []), *loops]
        super().notify(*loops)


async def _full(backend: MemoryBackend, clock: ManualClock) -> tuple[_Listening, str]:
    """An engine whose one task slot is held by an attempt waiting on a gate, and that execution."""
    gates.clear()
    busy = _Listening(SERVICE, backend, clock=clock, options=EngineOptions(task_concurrency=1))
    held = await BackendClient(SERVICE, backend).start_execution(blocked.name, None, "held")
    await _work(busy, tasks=False)
    assert len(gates) == 1
    assert busy.tasks.free == 0
    return busy, held


async def test_a_busy_process_leaves_new_executions_to_others(clock: ManualClock) -> None:
    """A process with no room for tasks leaves a new execution to one with room (one replay)."""
    backend = MemoryBackend()
    busy, held = await _full(backend, clock)
    other = Engine(SERVICE, backend, clock=clock)
    id_ = await BackendClient(SERVICE, backend).start_execution(count_up.name, 2, "elsewhere")
    replays = busy.orchestrator.replays
    assert await _work(busy, tasks=False) == 0  # left in the queue, not stepped
    assert busy.orchestrator.replays == replays
    await _run(backend, id_, other)
    assert await other.execution_result(id_) == 2
    assert other.tasks.attempts == 2
    assert other.orchestrator.replays == 1
    assert busy.tasks.attempts == 1

    gates[0].set()
    await _run(backend, held, busy)
    assert await busy.execution_result(held) is None


async def test_a_busy_process_steps_a_signal_at_once(clock: ManualClock) -> None:
    """A full process applies a signal at once, even to an execution held elsewhere."""
    backend = MemoryBackend()
    client = BackendClient(SERVICE, backend)
    elsewhere = Engine(SERVICE, backend, clock=clock)
    id_ = await client.start_execution(wait_for_go.name, None, "waiter")
    await _work(elsewhere)  # the first step runs there; it waits for the signal
    busy, _held = await _full(backend, clock)
    await client.send_signal(id_, go.name, 7)
    assert await _work(busy, tasks=False) == 1
    assert await busy.execution_result(id_) == 7


async def test_a_new_execution_waits_at_most_a_lease_for_room(clock: ManualClock) -> None:
    """When every process stays full, a new execution is stepped anyway once it waited a lease."""
    backend = MemoryBackend()
    busy, _held = await _full(backend, clock)
    client = BackendClient(SERVICE, backend, clock=clock)  # the start's time is the clock's
    id_ = await client.start_execution(wait_for_go.name, None, "new")
    assert await _work(busy, tasks=False) == 0
    clock.advance(busy.options.lease)
    assert await _work(busy, tasks=False) == 1
    assert busy.orchestrator.holds(id_)  # stepped here: the signal now applies at once
    await client.send_signal(id_, go.name, 3)
    assert await _work(busy, tasks=False) == 1
    assert await busy.execution_result(id_) == 3


async def test_room_freed_by_an_ending_attempt_brings_a_full_process_back(
    clock: ManualClock,
) -> None:
    """An attempt that ends and frees room wakes its process, which then steps a waiting start."""
    backend = MemoryBackend()
    busy, held = await _full(backend, clock)
    id_ = await BackendClient(SERVICE, backend).start_execution(count_up.name, 1, "waiting")
    assert await _work(busy, tasks=False) == 0
    busy.woken = []
    gates[0].set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert await busy.execution_result(held) is None
    assert "room" in busy.woken
    assert await _work(busy, tasks=False) == 1
    await _run(backend, id_, busy)
    assert await busy.execution_result(id_) == 1
