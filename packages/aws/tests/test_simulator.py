"""A service runs end to end on the simulator: the plan's handlers over moto, in real time."""

from __future__ import annotations

import asyncio
import contextvars
import io
import itertools
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from eventual import ExecutionStatus, RuntimeNotAvailable
from eventual_aws import Simulator
from eventual_aws._backend._items import listing_key, shard_of
from eventual_aws._lambda._log import ContextFilter, JsonFormatter
from eventual_engine import SystemClock

pytest.importorskip("eventual_aws._lambda")

SOURCE = """
import asyncio
from datetime import timedelta

from eventual import command, event, logger, signal, sleep, subscription, task, workflow

approval = signal("approval", bool)
audited: list[str] = []
noted = event("Noted", str)


@task
async def double(x: int) -> int:
    return x * 2


@task
async def big(size: int) -> str:
    return "x" * size


@workflow
async def flow(n: int) -> str:
    doubled = await asyncio.gather(*(double(i) for i in range(n)))
    await sleep(timedelta(seconds=1))
    approved = await approval.expect(timeout=timedelta(seconds=30))
    await noted.publish(f"flow {n}")
    return f"{'approved' if approved else 'rejected'}:{sum(doubled)}"


@task
async def shout(word: str) -> str:
    logger.info("shouting %s", word)
    return word.upper()


@workflow
async def fan_out(n: int) -> int:
    return sum(await asyncio.gather(*(double(i) for i in range(n))))


@workflow
async def announce(word: str) -> str:
    logger.info("announcing %s", word)
    loud = await shout(word)
    logger.warning("announced %s", loud)
    return loud


@workflow
async def steps(n: int) -> int:
    for _ in range(n):
        await sleep(0)
    return n


@workflow
async def large(size: int) -> int:
    return len(await big(size))


@workflow
async def month(_: None) -> str:
    await sleep(timedelta(days=30))
    return "a month later"


@subscription(noted)
async def audit(text: str) -> None:
    audited.append(text)


@command
async def begin(n: int) -> str:
    return (await flow.start(n)).id
"""

_prefixes = itertools.count()
Open = Callable[..., Simulator]


@pytest.fixture
def simulate(endpoint: str, make_service: Callable[[str], str]) -> Open:
    """Build simulators of a fresh service module, each with its own prefix."""
    module = make_service(SOURCE)

    def build(**options: Any) -> Simulator:
        return Simulator(module, endpoint_url=endpoint, prefix=f"run{next(_prefixes)}", **options)

    return build


def _module(sim: Simulator) -> Any:
    import sys

    return sys.modules[sim.plan.module]


async def test_a_workflow_with_tasks_timer_signal_and_event_completes(simulate: Open) -> None:
    """Parallel tasks, a timer, a signal, a command and a published event all work."""
    async with simulate() as sim:
        shop = _module(sim)
        execution_id = await sim.call(shop.begin, 3)
        handle = sim.execution(execution_id)
        await shop.approval.send(execution_id, True)
        assert await asyncio.wait_for(handle.result(), 60) == "approved:6"
        history = [event.type for event in await handle.history()]
        assert history.count("TaskScheduled") == 3
        assert history.count("TaskSucceeded") == 3
        assert history.count("TimerFired") == 1
        assert history[-1] == "WorkflowSucceeded"
        for _ in range(100):
            if shop.audited:
                break
            await asyncio.sleep(0.1)
        assert shop.audited == ["flow 3"]
        assert sim.requests["dynamodb.TransactWriteItems"] > 0


SHARDS = {
    "timer_shards": 3,
    "listing_shards": 4,
    "task_shards": 2,
    "inbox_shards": 2,
    "outbox_shards": 2,
}


async def test_shard_counts_reach_the_functions_and_the_table(
    simulate: Open, endpoint: str, session: boto3.Session
) -> None:
    """With shards given, executions are listed under sharded keys and still complete."""
    async with simulate(shards=SHARDS) as sim:
        for function in sim.plan.functions:
            assert function.environment["EVENTUAL_AWS_LISTING_SHARDS"] == "4"
            assert function.environment["EVENTUAL_AWS_OUTBOX_SHARDS"] == "2"
        shop = _module(sim)
        handles = [await shop.fan_out.start(2, name=f"n{number}") for number in range(8)]
        assert [await asyncio.wait_for(h.result(), 60) for h in handles] == [2] * 8
        dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        table = sim.environments["api"]["EVENTUAL_AWS_TABLE"]
        keys = {
            value["S"]
            for page in dynamodb.get_paginator("scan").paginate(TableName=table)
            for item in page["Items"]
            for value in item.values()
            if "S" in value
        }
        listed = {listing_key("all", shard_of(h.id, 4)) for h in handles}
        assert listed <= keys
        assert len(listed) > 1  # eight ids over four shards: more than shard 0's L#all


async def test_an_open_simulator_serves_tasks_that_inherit_no_context(simulate: Open) -> None:
    """A request handler's task, with no client in its context, starts workflows on it."""
    async with simulate() as sim:
        shop = _module(sim)

        async def handler() -> str:
            handle = await shop.fan_out.start(4, name="fresh")
            return str(handle.id)

        started = await asyncio.create_task(handler(), context=contextvars.Context())
        assert started == "fan_out/fresh"
        assert await asyncio.wait_for(sim.execution(started).result(), 60) == 12
    with pytest.raises(RuntimeNotAvailable):
        await asyncio.create_task(shop.fan_out.start(1), context=contextvars.Context())


async def test_a_task_result_of_one_megabyte_round_trips(simulate: Open) -> None:
    """A 1 MB task result goes through S3 by reference and reaches the workflow whole."""
    async with simulate() as sim:
        shop = _module(sim)
        handle = await sim.start(shop.large, 1_000_000)
        assert await asyncio.wait_for(handle.result(), 60) == 1_000_000
        assert sim.requests["s3.PutObject"] > 0


async def test_a_workflow_of_three_hundred_steps_commits(simulate: Open) -> None:
    """300 durable calls in one step (600 events, a commit split past 100 items) all land."""
    async with simulate() as sim:
        shop = _module(sim)
        handle = await sim.start(shop.steps, 300)
        assert await asyncio.wait_for(handle.result(), 60) == 300
        history = [event.type for event in await handle.history()]
        assert history.count("TimerScheduled") == 300
        assert history.count("TimerFired") == 300
        assert history[-1] == "WorkflowSucceeded"


async def test_a_thirty_day_sleep_is_a_schedule_and_firing_it_continues(
    simulate: Open, monkeypatch: pytest.MonkeyPatch, endpoint: str, session: boto3.Session
) -> None:
    """The 30-day timer becomes a Scheduler schedule; when it comes due the workflow ends."""
    async with simulate() as sim:
        shop = _module(sim)
        handle = await sim.start(shop.month, None)
        group = sim.plan.schedule_group.name
        scheduler = session.client("scheduler", endpoint_url=endpoint)
        for _ in range(100):
            if scheduler.list_schedules(GroupName=group)["Schedules"]:
                break
            await asyncio.sleep(0.1)
        schedules = scheduler.list_schedules(GroupName=group)["Schedules"]
        assert schedules, "the 30-day timer made no schedule"
        assert await handle.status() is ExecutionStatus.RUNNING
        later = datetime.now(UTC) + timedelta(days=30, minutes=1)
        real_now = SystemClock.now
        started = datetime.now(UTC)

        def month_later(self: SystemClock) -> datetime:
            return later + (real_now(self) - started)

        monkeypatch.setattr(SystemClock, "now", month_later)
        assert await asyncio.wait_for(handle.result(), 60) == "a month later"


async def test_a_crash_after_a_step_is_recovered_by_redelivery(simulate: Open) -> None:
    """An orchestrator that dies after committing is handed its message again; nothing is lost."""
    async with simulate() as sim:
        shop = _module(sim)
        sim.crash("orchestrator.committed", times=2)
        sim.crash_after("task", times=1)
        handle = await sim.start(shop.fan_out, 3)
        assert await asyncio.wait_for(handle.result(), 60) == 6
        history = [event.type for event in await handle.history()]
        assert history.count("TaskSucceeded") == 3


async def test_log_lines_are_served_by_the_system_api_and_written_as_json(simulate: Open) -> None:
    """Workflow and task lines are kept in the table for the system API and logged as JSON."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    workflow_logger = logging.getLogger("eventual.workflow")
    workflow_logger.addHandler(handler)
    workflow_logger.setLevel(logging.INFO)
    try:
        async with simulate() as sim:
            shop = _module(sim)
            handle = await sim.start(shop.announce, "hello", name="a1")
            assert await asyncio.wait_for(handle.result(), 60) == "HELLO"
            response = await sim.http("GET", "/_eventual/executions/announce/a1/logs")
            assert response.status_code == 200
            body = response.json()
            later = await sim.http(
                "GET",
                f"/_eventual/executions/announce/a1/logs?after={body['entries'][0]['position']}",
            )
    finally:
        workflow_logger.removeHandler(handler)
        workflow_logger.setLevel(logging.NOTSET)
    entries = body["entries"]
    assert [(e["level"], e["message"], e["task"]) for e in entries] == [
        ("INFO", "announcing hello", None),
        ("INFO", "shouting hello", "shout"),
        ("WARNING", "announced HELLO", None),
    ]
    assert body["next"] == entries[-1]["position"]
    assert [e["message"] for e in later.json()["entries"]] == [
        "shouting hello",
        "announced HELLO",
    ]
    lines = [json.loads(line) for line in written.getvalue().splitlines()]
    assert [(line["message"], line["execution_id"], line["seq"]) for line in lines] == [
        ("announcing hello", "announce/a1", 0),
        ("shouting hello", "announce/a1", 1),
        ("announced HELLO", "announce/a1", 1),
    ]
    assert {line["logger"] for line in lines} == {"eventual.workflow"}
    assert all(line["timestamp"].endswith("Z") and line["level"] for line in lines)
    assert lines[1]["function_kind"] == "task"
