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


async def test_a_cron_schedule_runs_at_its_wall_times_with_the_scheduled_time(
    fresh_config: AwsBackendConfig,
    session: boto3.Session,
    forwarder: FunctionPlan,
    scheduler: Any,
    group: str,
) -> None:
    """Weekdays at nine in Paris invoke the forwarder at 08:00 UTC, the time filled in."""
    _recurring(scheduler, group, "cron(0 9 ? * MON-FRI *)", "Europe/Paris")
    functions, clock = Recorded(), Clock(datetime(2026, 1, 5, 7, 59, tzinfo=UTC))  # a Monday
    poller = _poller(fresh_config, session, forwarder, group, functions, clock)
    assert await poller.fire_due() == 0
    clock.now = datetime(2026, 1, 5, 8, 0, 20, tzinfo=UTC)
    assert await poller.fire_due() == 1
    assert await poller.fire_due() == 0  # the same time is not invoked again
    assert functions.events == [{"schedule": "report", "scheduled_time": "2026-01-05T08:00:00Z"}]
    clock.now = datetime(2026, 1, 8, 12, tzinfo=UTC)  # three weekdays later
    assert await poller.fire_due() == 1
    assert functions.times()[-1] == "2026-01-08T08:00:00Z"  # only the latest
    assert scheduler.list_schedules(GroupName=group)["Schedules"], "a recurring schedule stays"


async def test_a_rate_schedule_runs_from_when_it_was_seen_then_every_period(
    fresh_config: AwsBackendConfig,
    session: boto3.Session,
    forwarder: FunctionPlan,
    scheduler: Any,
    group: str,
) -> None:
    """rate(5 minutes) runs at once, then five minutes later, and twice with duplicates on."""
    _recurring(scheduler, group, "rate(5 minutes)", "UTC")
    start = datetime(2026, 1, 5, 7, 0, 10, tzinfo=UTC)
    functions, clock = Recorded(), Clock(start)
    poller = _poller(fresh_config, session, forwarder, group, functions, clock, duplicates=True)
    assert await poller.fire_due() == 1
    clock.now = start + timedelta(minutes=4)
    assert await poller.fire_due() == 0
    clock.now = start + timedelta(minutes=5)
    assert await poller.fire_due() == 1
    assert functions.times() == [
        "2026-01-05T07:00:10Z",
        "2026-01-05T07:00:10Z",
        "2026-01-05T07:05:10Z",
        "2026-01-05T07:05:10Z",
    ]


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
    functions, clock = Recorded(), Clock(datetime(2026, 1, 5, 6, 59, tzinfo=UTC))
    poller = _poller(fresh_config, session, forwarder, group, functions, clock)
    await poller.fire_due()
    functions.failures = 2
    clock.now = datetime(2026, 1, 5, 7, 0, 5, tzinfo=UTC)
    assert await poller.fire_due() == 0  # failed: retried after a pause
    clock.now += timedelta(minutes=1)
    assert await poller.fire_due() == 0  # failed again: dead-lettered
    message = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    assert json.loads(message["Body"])["scheduled_time"] == "2026-01-05T07:00:00Z"
    clock.now = datetime(2026, 1, 5, 8, 0, 5, tzinfo=UTC)
    assert await poller.fire_due() == 1
    assert functions.times() == ["2026-01-05T08:00:00Z"]


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
