"""The simulator's Scheduler: schedules stored on moto invoke their target on its clock."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from eventual import Schedule
from eventual_aws import FunctionPlan, plan
from eventual_aws._backend import AwsBackendConfig
from eventual_aws._backend._clients import Clients
from eventual_aws._simulator._functions import Invoker
from eventual_aws._simulator._scheduler import SchedulePoller

ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders-forwarder"
ROLE = "arn:aws:iam::123456789012:role/orders-scheduler"
INPUT = json.dumps({"schedule": "report", "scheduled_time": "<aws.scheduler.scheduled-time>"})
_groups = itertools.count()


class Recorded:
    """Functions that record each invocation's event, failing the first ``failures``."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.failures = 0

    async def invoke(
        self, kind: str, event: Mapping[str, Any], context: object, environment: Mapping[str, str]
    ) -> dict[str, Any] | None:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("the forwarder failed")
        self.events.append(dict(event))
        return {"outcome": "ticked"}

    def requests(self) -> Counter[str]:
        return Counter()

    async def close(self) -> None:
        return None

    def times(self) -> list[str]:
        return [str(event["scheduled_time"]) for event in self.events]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def forwarder() -> FunctionPlan:
    return plan("orders.service").function("forwarder")


@pytest.fixture
def scheduler(endpoint: str, session: boto3.Session) -> Any:
    return session.client("scheduler", endpoint_url=endpoint)


@pytest.fixture
def group(scheduler: Any) -> Iterator[str]:
    """A schedule group of its own."""
    name = f"poller-{next(_groups)}"
    scheduler.create_schedule_group(Name=name)
    yield name
    for schedule in scheduler.list_schedules(GroupName=name)["Schedules"]:
        scheduler.delete_schedule(Name=schedule["Name"], GroupName=name)
    scheduler.delete_schedule_group(Name=name)


def _poller(
    fresh_config: AwsBackendConfig,
    session: boto3.Session,
    forwarder: FunctionPlan,
    group: str,
    functions: Recorded,
    clock: Clock,
    *,
    duplicates: bool = False,
) -> SchedulePoller:
    invoker = Invoker(functions, {forwarder.name: {}}, {forwarder.name: ARN})
    return SchedulePoller(
        Clients(fresh_config, session),
        invoker,
        group,
        {ARN: forwarder},
        clock,
        duplicate_deliveries=duplicates,
    )


def _recurring(scheduler: Any, group: str, expression: str, zone: str, **target: Any) -> None:
    scheduler.create_schedule(
        Name="workflow-report",
        GroupName=group,
        ScheduleExpression=expression,
        ScheduleExpressionTimezone=zone,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": ARN, "RoleArn": ROLE, "Input": INPUT, **target},
    )


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _created(scheduler: Any, group: str) -> datetime:
    detail = scheduler.get_schedule(Name="workflow-report", GroupName=group)
    changed: datetime = detail.get("LastModificationDate") or detail["CreationDate"]
    return changed.astimezone(UTC)


async def test_a_cron_schedule_runs_at_its_wall_times_with_the_scheduled_time(
    fresh_config: AwsBackendConfig,
    session: boto3.Session,
    forwarder: FunctionPlan,
    scheduler: Any,
    group: str,
) -> None:
    """Weekdays at nine in Paris invoke the forwarder then, once each, the time filled in."""
    _recurring(scheduler, group, "cron(0 9 ? * MON-FRI *)", "Europe/Paris")
    weekdays = Schedule.cron("0 9 * * MON-FRI", tz="Europe/Paris")  # the engine's reading
    created = _created(scheduler, group)
    functions, clock = Recorded(), Clock(created)
    poller = _poller(fresh_config, session, forwarder, group, functions, clock)
    assert await poller.fire_due() == 0
    first = weekdays.next_after(created)
    clock.now = first + timedelta(seconds=20)
    assert await poller.fire_due() == 1
    assert await poller.fire_due() == 0  # the same time is not invoked again
    assert functions.events == [{"schedule": "report", "scheduled_time": _stamp(first)}]
    third = weekdays.next_after(weekdays.next_after(first))
    clock.now = third + timedelta(hours=1)  # two weekdays later
    assert await poller.fire_due() == 1
    assert functions.times() == [_stamp(first), _stamp(third)]  # only the latest
    assert scheduler.list_schedules(GroupName=group)["Schedules"], "a recurring schedule stays"


async def test_a_rate_schedule_runs_from_its_creation_then_every_period(
    fresh_config: AwsBackendConfig,
    session: boto3.Session,
    forwarder: FunctionPlan,
    scheduler: Any,
    group: str,
) -> None:
    """rate(5 minutes) runs when created, then five minutes later, twice with duplicates on."""
    _recurring(scheduler, group, "rate(5 minutes)", "UTC")
    created = _created(scheduler, group)
    functions, clock = Recorded(), Clock(created + timedelta(seconds=1))
    poller = _poller(fresh_config, session, forwarder, group, functions, clock, duplicates=True)
    assert await poller.fire_due() == 1
    clock.now = created + timedelta(minutes=4)
    assert await poller.fire_due() == 0
    clock.now = created + timedelta(minutes=5, seconds=1)
    assert await poller.fire_due() == 1
    later = _stamp(created + timedelta(minutes=5))
    assert functions.times() == [_stamp(created), _stamp(created), later, later]


async def test_a_failing_time_is_retried_then_dead_lettered_and_the_schedule_goes_on(
    fresh_config: AwsBackendConfig,
    session: boto3.Session,
    forwarder: FunctionPlan,
    scheduler: Any,
    group: str,
    endpoint: str,
) -> None:
    """A time whose invocations keep failing goes to the dead-letter queue; the next time runs."""
    sqs = session.client("sqs", endpoint_url=endpoint)
    url = sqs.create_queue(QueueName=f"{group}-dlq")["QueueUrl"]
    dead_letters = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    _recurring(
        scheduler,
        group,
        "cron(0 * * * ? *)",
        "UTC",
        RetryPolicy={"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 3600},
        DeadLetterConfig={"Arn": dead_letters["Attributes"]["QueueArn"]},
    )
    hourly = Schedule.cron("0 * * * *")
    created = _created(scheduler, group)
    functions, clock = Recorded(), Clock(created)
    poller = _poller(fresh_config, session, forwarder, group, functions, clock)
    await poller.fire_due()
    functions.failures = 2
    first = hourly.next_after(created)
    clock.now = first + timedelta(seconds=5)
    assert await poller.fire_due() == 0  # failed: retried after a pause
    clock.now += timedelta(minutes=1)
    assert await poller.fire_due() == 0  # failed again: dead-lettered
    message = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    assert json.loads(message["Body"])["scheduled_time"] == _stamp(first)
    second = hourly.next_after(first)
    clock.now = second + timedelta(seconds=5)
    assert await poller.fire_due() == 1
    assert functions.times() == [_stamp(second)]


async def test_a_disabled_schedule_is_not_run(
    fresh_config: AwsBackendConfig,
    session: boto3.Session,
    forwarder: FunctionPlan,
    scheduler: Any,
    group: str,
) -> None:
    """A schedule set DISABLED invokes nothing, as on Scheduler."""
    _recurring(scheduler, group, "rate(1 minute)", "UTC")
    detail = scheduler.get_schedule(Name="workflow-report", GroupName=group)
    scheduler.update_schedule(
        Name="workflow-report",
        GroupName=group,
        ScheduleExpression=detail["ScheduleExpression"],
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=detail["Target"],
        State="DISABLED",
    )
    functions, clock = Recorded(), Clock(datetime(2026, 1, 5, 7, tzinfo=UTC))
    poller = _poller(fresh_config, session, forwarder, group, functions, clock)
    clock.now += timedelta(minutes=10)
    assert await poller.fire_due() == 0
    assert functions.events == []
