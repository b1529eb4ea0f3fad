"""The Lambda handlers on moto: workflows driven end to end by the messages on their queues."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator

import boto3
import pytest

from eventual import ExecutionStatus
from eventual_aws._lambda import close_runtimes

from .conftest import MakePackage
from .handlers_support import Deployed

SOURCE = """
from datetime import timedelta
from eventual import event, signal, sleep, subscription, task, workflow

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
    await sleep(timedelta(seconds=1))
    return label + " slept"

@subscription(noted)
async def note(text: str) -> None:
    received.append(text)
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
