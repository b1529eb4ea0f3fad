"""The Lambda handlers on moto: workflows driven end to end by the messages on their queues."""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import boto3
import pytest

from eventual import ExecutionStatus
from eventual_aws._lambda import close_runtimes

from .conftest import MakePackage
from .handlers_support import Deployed

SOURCE = """
from datetime import timedelta
from eventual import RetryPolicy, event, signal, sleep, subscription, task, workflow

ran: list[str] = []
noted = event("Noted", str)
go = signal("go", str)
received: list[str] = []

@task
async def double(x: int) -> int:
    ran.append(f"double {x}")
    return x * 2

@task
async def blob(size: int) -> str:
    return "x" * size

@workflow
async def chain(n: int) -> int:
    total = 0
    for i in range(n):
        total += await double(i)
    await noted.publish(f"chain {total}")
    return total

@workflow
async def tell(text: str) -> str:
    await noted.publish(text)
    return text

@workflow
async def big(size: int) -> int:
    return len(await blob(size))

@workflow
async def month(label: str) -> str:
    await sleep(timedelta(days=30))
    return f"{label} woke"

@workflow
async def waits(label: str) -> str:
    return label + " " + await go.expect()

@workflow
async def short(label: str) -> str:
    # Long enough that a loaded machine's first step commits it before it is due; a
    # due timer is fired in that step and never reaches the timer queue.
    await sleep(timedelta(seconds=3))
    return label + " slept"

@subscription(noted, retry=RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=1)))
async def note(text: str) -> None:
    received.append(text)

refused = event("Refused", str)
accepting = {"now": False}
taken: list[str] = []

@subscription(refused)
async def refuse(text: str) -> None:
    if not accepting["now"]:
        raise ValueError(f"cannot take {text}")
    taken.append(text)
"""


@pytest.fixture
async def deployed(
    endpoint: str, session: boto3.Session, make_service: MakePackage
) -> AsyncIterator[Deployed]:
    """The test service's plan provisioned on moto, its functions ready to invoke."""
    module = make_service(SOURCE)
    importlib.import_module(module)
    yield await Deployed(module, endpoint, session).provision()
    await close_runtimes()


async def test_a_workflow_of_tasks_completes_through_its_queues(deployed: Deployed) -> None:
    """A workflow of three tasks runs to its result, each function fed its queue's messages."""
    client = deployed.runtime().client
    execution = await client.start_execution("chain", 3, "c1")
    await deployed.pump()
    record = await client.execution_record(execution)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, 6)
    assert deployed.invocations["task-double"] == 3


async def test_a_published_event_reaches_its_subscription_function(deployed: Deployed) -> None:
    """An event a workflow publishes is put on the bus, routed to the queue and delivered once."""
    client = deployed.runtime().client
    await client.start_execution("chain", 2, "c2")
    await deployed.pump()
    await asyncio.sleep(0)
    module = importlib.import_module(deployed.module)
    assert module.received == ["chain 2"]


async def test_a_task_result_over_a_megabyte_round_trips(deployed: Deployed) -> None:
    """A 1.2 MB task result goes through S3 by reference and reaches the workflow whole."""
    client = deployed.runtime().client
    execution = await client.start_execution("big", 1_200_000, "big")
    await deployed.pump()
    record = await client.execution_record(execution)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, 1_200_000)


async def test_a_short_sleep_wakes_through_the_timer_queue(deployed: Deployed) -> None:
    """A short sleep is a delayed timer-queue message whose function wakes the workflow."""
    client = deployed.runtime().client
    execution = await client.start_execution("short", "nap", "nap")
    await deployed.pump()
    assert (await client.execution_record(execution)).status is ExecutionStatus.RUNNING

    async def ended() -> bool:
        return (await client.execution_record(execution)).status is not ExecutionStatus.RUNNING

    await deployed.pump_until(ended)
    record = await client.execution_record(execution)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, "nap slept")
    assert deployed.invocations["timer"] == 1


async def test_a_thirty_day_sleep_is_a_schedule_whose_firing_continues_the_workflow(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 30-day sleep creates a one-time schedule; the forwarder, given its input, wakes it."""
    client = deployed.runtime().client
    execution = await client.start_execution("month", "bear", "bear")
    await deployed.pump()
    schedules = deployed.schedules()
    assert len(schedules) == 1
    schedule = schedules[0]
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert (
        schedule["Target"]["Arn"]
        == deployed.environments["forwarder"]["EVENTUAL_AWS_FORWARDER_ARN"]
    )
    payload = json.loads(schedule["Target"]["Input"])
    assert set(payload) == {"timer_id", "due"}
    # Too early, the forwarder hands the timer back (to the scheduler: it is days away).
    assert (await deployed.invoke("forwarder", payload))["outcome"] == "forwarded"
    # Thirty days later, the schedule runs.
    runtime = deployed.runtime("forwarder")
    later = runtime.clock.now() + timedelta(days=30, seconds=1)
    monkeypatch.setattr(runtime.clock, "now", lambda: later)
    assert await deployed.invoke("forwarder", payload) == {
        "timer_id": payload["timer_id"],
        "outcome": "fired",
    }
    await deployed.pump()
    record = await client.execution_record(execution)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, "bear woke")
    # A second run of the schedule (at least once) finds the timer fired.
    assert (await deployed.invoke("forwarder", payload))["outcome"] == "gone"


async def test_a_signal_sent_from_outside_wakes_the_workflow(deployed: Deployed) -> None:
    """A signal sent by the ambient client queues a message whose doorbell steps the workflow."""
    client = deployed.runtime().client
    execution = await client.start_execution("waits", "ready", "sig")
    await deployed.pump()
    await client.send_signal(execution, "go", "set")
    await deployed.pump()
    record = await client.execution_record(execution)
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, "ready set")
