"""BackendClient without an engine, driven one unit of work at a time as a function would be."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import attrs
import pytest

from eventual import (
    EventualError,
    ExecutionStatus,
    Service,
    complete_async,
    event,
    signal,
    sleep,
    task,
    task_info,
    workflow,
)
from eventual.history import (
    ExecutionRecord,
    HistoryEvent,
    TaskScheduled,
    TaskSucceeded,
    TimerFired,
    WorkflowStarted,
)
from eventual.spi import Client, EventEnvelope, SubscriptionDelivery
from eventual_engine import (
    BackendClient,
    ClientHooks,
    ManualClock,
    MemoryBackend,
    Orchestrator,
    TaskWorker,
    TimerWorker,
)

LEASE = timedelta(seconds=30)
OWNER = "function"
tokens: list[str] = []

go = signal("go", int)


@task(timeout=timedelta(seconds=30))
async def double(x: int) -> int:
    return x * 2


@task
async def outside(key: str) -> str:
    tokens.append(task_info().token)
    complete_async()


@workflow
async def double_later(x: int) -> int:
    doubled = await double(x)
    await sleep(timedelta(minutes=1))
    return doubled + await go.expect()


@workflow
async def wait_outside(key: str) -> str:
    return await outside(key)


@attrs.frozen
class Shipped:
    order: str


shipped = event("Shipped", Shipped)


@workflow
async def ship(order: str) -> None:
    await shipped.publish(Shipped(order))


SERVICE = Service.from_definitions(
    "client", [go, double, outside, double_later, wait_outside, shipped, ship]
)


class Bus:
    """A bus that only records what it accepted."""

    def __init__(self) -> None:
        self.accepted: list[EventEnvelope] = []

    async def open(self) -> object:
        return self

    async def publish(self, events: Sequence[EventEnvelope]) -> None:
        self.accepted.extend(events)

    async def attach(
        self, service: Service, client: Client, now: Callable[[], datetime], *, owner: str
    ) -> SubscriptionDelivery:
        raise NotImplementedError

    async def close(self) -> None:
        return None


class Recorder(ClientHooks):
    """Hooks that remember what they were told, like a doorbell would."""

    def __init__(self) -> None:
        self.told: list[tuple[str, ...]] = []

    async def work_added(self, *workers: str) -> None:
        self.told.append(workers)

    async def execution_created(self, record: ExecutionRecord, started: WorkflowStarted) -> None:
        self.told.append(("created", record.id))

    async def task_outcome(
        self, execution_id: str, token: str, event: HistoryEvent, deadlines: Sequence[str]
    ) -> bool:
        self.told.append(("outcome", token))
        return False


async def orchestrate(backend: MemoryBackend, clock: ManualClock) -> int:
    """Claim queued batches and process each with a fresh orchestrator (a cold function)."""
    batches = await backend.queue.claim(OWNER, 10, LEASE)
    for batch in batches:
        await Orchestrator(SERVICE, backend, clock).process(batch)
    return len(batches)


async def test_each_worker_runs_one_unit_of_work_without_an_engine(clock: ManualClock) -> None:
    """Start, task, timer and signal each advance the execution by one call, no loop running."""
    backend = MemoryBackend()
    hooks = Recorder()
    client = BackendClient(SERVICE, backend, clock=clock, hooks=hooks)
    id_ = await client.start_execution(double_later.name, 4, "a")
    assert hooks.told == [("created", id_)]
    assert [type(e) for e in await client.execution_history(id_)] == [WorkflowStarted]

    assert await orchestrate(backend, clock) == 1
    assert isinstance((await client.execution_history(id_))[-1], TaskScheduled)

    (request,) = await backend.tasks.claim(OWNER, clock.now(), 1, LEASE)
    worker = TaskWorker(SERVICE, backend, clock, client, owner=OWNER, lease=LEASE)
    await worker.run(request)
    assert await orchestrate(backend, clock) == 1
    history = await client.execution_history(id_)
    assert TaskSucceeded(timestamp=clock.now(), seq=1, attempt=1, result=8) in history

    timers = TimerWorker(SERVICE, backend, clock, owner=OWNER, lease=LEASE)
    assert await timers.fire_due() == 0
    clock.advance(timedelta(minutes=1))
    assert await timers.fire_due() == 1
    assert await orchestrate(backend, clock) == 1
    assert isinstance((await client.execution_history(id_))[-1], TimerFired)

    await client.send_signal(id_, go.name, 1)
    assert hooks.told[-1] == ("orchestrator",)
    assert await orchestrate(backend, clock) == 1
    assert await client.execution_status(id_) is ExecutionStatus.SUCCEEDED
    assert await client.execution_result(id_) == 9


async def test_an_outside_completion_is_queued_unless_the_hooks_take_it(clock: ManualClock) -> None:
    """complete_task offers the outcome to the hooks, then queues it as the attempt's outcome."""
    backend = MemoryBackend()
    hooks = Recorder()
    client = BackendClient(SERVICE, backend, clock=clock, hooks=hooks)
    id_ = await client.start_execution(wait_outside.name, "k", "b")
    await orchestrate(backend, clock)
    (request,) = await backend.tasks.claim(OWNER, clock.now(), 1, LEASE)
    await TaskWorker(SERVICE, backend, clock, client, owner=OWNER, lease=LEASE).run(request)
    token = tokens[-1]
    attempt = token.rpartition("|")[0]  # the attempt's id: the token without its mac
    assert await backend.queue.pending() == 0

    await client.complete_task(token, "done outside")
    assert hooks.told[-2:] == [("outcome", attempt), ("orchestrator",)]
    (batch,) = await backend.queue.claim(OWNER, 10, LEASE)
    assert [m.id for m in batch.messages] == [f"{attempt}|done"]
    await Orchestrator(SERVICE, backend, clock).process(batch)
    assert await client.execution_result(id_) == "done outside"


async def test_default_hooks_leave_the_work_to_the_backend(clock: ManualClock) -> None:
    """Without hooks a start only writes: its first step waits in the queue."""
    backend = MemoryBackend()
    client = BackendClient(SERVICE, backend, clock=clock)
    id_ = await client.start_execution(double_later.name, 1, "c")
    assert await backend.queue.pending() == 1
    assert await client.execution_status(id_) is ExecutionStatus.RUNNING


async def test_a_malformed_token_is_refused(clock: ManualClock) -> None:
    """complete_task names a token that is not execution|seq|attempt|mac."""
    client = BackendClient(SERVICE, MemoryBackend(), clock=clock)
    with pytest.raises(EventualError, match="'nonsense' is not a valid task token"):
        await client.complete_task("nonsense", None)


async def test_published_events_are_relayed_once_with_the_id_of_their_step(
    clock: ManualClock,
) -> None:
    """relay_published hands the outbox to the bus, keeping each event's id, and empties it."""
    backend = MemoryBackend()
    bus = Bus()
    client = BackendClient(SERVICE, backend, clock=clock, bus=bus)
    assert await client.relay_published() == 0
    await client.start_execution(ship.name, "o1", "d")
    await orchestrate(backend, clock)
    (outboxed,) = [event for _, event in await backend.published(10)]
    assert await client.relay_published() == 1
    assert await client.relay_published() == 0
    (envelope,) = bus.accepted
    assert (envelope.id, envelope.source, envelope.name) == (outboxed.id, "client", "Shipped")
    assert envelope.payload == {"order": "o1"}
