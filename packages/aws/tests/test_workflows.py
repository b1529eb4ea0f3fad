"""A service's workflows run end to end on the engine over the aws backend (moto)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from eventual import ExecutionStatus, Service, signal, sleep, task, workflow
from eventual_aws._backend import AwsBackend
from eventual_engine import Engine, ManualClock

approval = signal("approval", bool)


@task
async def double(x: int) -> int:
    return x * 2


@workflow
async def child(x: int) -> int:
    return await double(x) + 1


@workflow
async def order(n: int) -> str:
    doubled = await asyncio.gather(*(double(i) for i in range(n)))
    await sleep(timedelta(hours=1))
    approved = await approval.expect(timeout=timedelta(days=1))
    extra = await child(sum(doubled))
    return f"{'approved' if approved else 'rejected'}:{extra}"


SERVICE = Service.from_definitions("shop", [double, child, order])


async def test_a_workflow_with_tasks_timer_signal_and_child_completes(backend: AwsBackend) -> None:
    """Parallel tasks, a durable one-hour sleep, a signal and a child all work on DynamoDB."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    engine = Engine(SERVICE, backend, clock=clock)
    execution = await engine.start_execution("order", 3, "o1")
    await engine.run_until_idle()
    assert (await engine.execution_record(execution)).status is ExecutionStatus.RUNNING
    await engine.advance_to(clock.now() + timedelta(hours=1))
    await engine.send_signal(execution, "approval", True)
    await engine.run_until_idle()
    record = await engine.execution_record(execution)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, "approved:13")
    types = [event.type for event in await backend.executions.history(execution)]
    assert types.count("TaskScheduled") == 3
    assert "TimerFired" in types
    assert types[-1] == "WorkflowSucceeded"
    assert await backend.queue.pending() == 0
    assert await backend.tasks.pending() == 0
