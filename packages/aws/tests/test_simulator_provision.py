"""The simulator provisions a plan on a local endpoint and emulates Lambda's triggers.

The handlers are replaced here by a stand-in that records what it is given, so
what is tested is the simulator's side: resources, event shapes, deletion,
redelivery, dead letters, schedules and routes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from eventual_aws import Simulator
from eventual_aws._simulator._events import match_route

_prefixes = itertools.count()


class StandIn:
    """Records every invocation; fails the SQS messages whose body is in ``failing``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], object, dict[str, str]]] = []
        self.failing: set[str] = set()
        self.closed = False

    async def invoke(
        self, kind: str, event: Mapping[str, Any], context: object, environment: Mapping[str, str]
    ) -> dict[str, Any] | None:
        self.calls.append((kind, dict(event), context, dict(environment)))
        if kind == "api":
            return {
                "statusCode": 200,
                "headers": {"content-type": "application/json"},
                "body": json.dumps(
                    {"path": event["rawPath"], "params": event.get("pathParameters")}
                ),
            }
        records = event.get("Records") if isinstance(event, Mapping) else None
        if records is None:
            return None
        failed = [r["messageId"] for r in records if r["body"] in self.failing]
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}

    def requests(self) -> Counter[str]:
        return Counter()

    async def close(self) -> None:
        self.closed = True

    def bodies(self, kind: str) -> list[str]:
        return [
            record["body"]
            for called, event, _, _ in self.calls
            if called == kind
            for record in event.get("Records", [])
        ]


Open = Callable[..., Simulator]


@pytest.fixture
def stand_in() -> StandIn:
    """A stand-in for the handlers."""
    return StandIn()


@pytest.fixture
def simulator(endpoint: str, stand_in: StandIn) -> Open:
    """Build simulators of the orders example, each with its own prefix, on the shared server."""

    def build(**options: Any) -> Simulator:
        prefix = options.pop("prefix", None) or f"sim{next(_prefixes)}"
        return Simulator(
            "orders.service", endpoint_url=endpoint, prefix=prefix, functions=stand_in, **options
        )

    return build


async def _eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.05)


@pytest.fixture
def aws(endpoint: str, session: boto3.Session) -> Callable[[str], Any]:
    """Make boto3 clients on the shared server."""

    def make(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]

    return make


async def test_provisioning_creates_every_resource_of_the_plan(
    simulator: Open, aws: Callable[[str], Any]
) -> None:
    """Table, bucket, queues, bus, rule, schedule group, schedule and role all exist."""
    async with simulator() as sim:
        values = sim.provisioned.values
        table = aws("dynamodb").describe_table(TableName=values["table.name"])["Table"]
        assert sorted(i["IndexName"] for i in table["GlobalSecondaryIndexes"]) == ["gsi1", "gsi2"]
        ttl = aws("dynamodb").describe_time_to_live(TableName=values["table.name"])
        assert ttl["TimeToLiveDescription"]["AttributeName"] == "ttl"
        aws("s3").head_bucket(Bucket=values["bucket.name"])
        lifecycle = aws("s3").get_bucket_lifecycle_configuration(Bucket=values["bucket.name"])
        assert [
            (r["ID"], r["Filter"]["Prefix"], r["Status"], r["Expiration"]["Days"])
            for r in lifecycle["Rules"]
        ] == [(e.id, e.prefix, "Enabled", e.days) for e in sim.plan.bucket.expirations]
        sqs = aws("sqs")
        for queue in sim.plan.queues:
            attributes = sqs.get_queue_attributes(
                QueueUrl=values[f"{queue.id}.url"], AttributeNames=["All"]
            )["Attributes"]
            assert attributes["VisibilityTimeout"] == str(queue.visibility_timeout_s)
            if queue.redrive is not None:
                redrive = json.loads(attributes["RedrivePolicy"])
                assert (
                    redrive["deadLetterTargetArn"]
                    == values[f"{queue.redrive.dead_letter_queue}.arn"]
                )
                assert redrive["maxReceiveCount"] == queue.redrive.max_receive_count
        events = aws("events")
        rule = sim.plan.rules[0]
        described = events.describe_rule(Name=rule.name, EventBusName=sim.plan.event_bus.name)
        assert json.loads(described["EventPattern"]) == rule.pattern
        targets = events.list_targets_by_rule(Rule=rule.name, EventBusName=sim.plan.event_bus.name)
        assert [t["Arn"] for t in targets["Targets"]] == [values[f"{rule.target}.arn"]]
        aws("scheduler").get_schedule_group(Name=sim.plan.schedule_group.name)
        (nightly,) = sim.plan.schedules
        recurring = aws("scheduler").get_schedule(
            Name=nightly.name, GroupName=sim.plan.schedule_group.name
        )
        assert (recurring["ScheduleExpression"], recurring["ScheduleExpressionTimezone"]) == (
            "cron(0 1 * * ? *)",
            "America/New_York",
        )
        environment = sim.environments["orchestrator"]
        assert environment["EVENTUAL_AWS_WORKFLOW_QUEUE_URL"] == values["queue.workflow.url"]
        assert "${" not in json.dumps(sim.environments)


async def test_provisioning_again_reuses_the_resources(simulator: Open) -> None:
    """A second simulator on the same endpoint and prefix finds the same queues, table and bus."""
    async with simulator(prefix="again") as first:
        values = dict(first.provisioned.values)
    async with simulator(prefix="again") as second:
        assert dict(second.provisioned.values) == values


async def test_a_queued_message_reaches_its_function_as_lambda_shapes_it(
    simulator: Open, stand_in: StandIn, aws: Callable[[str], Any]
) -> None:
    """The task's function gets the SQS event with Lambda's fields, and the message is deleted."""
    async with simulator() as sim:
        url = sim.provisioned.queue_url("queue.task.reserve_stock")
        aws("sqs").send_message(QueueUrl=url, MessageBody='{"token": "t"}')
        await _eventually(lambda: bool(stand_in.bodies("task")))
        _, event, context, environment = next(c for c in stand_in.calls if c[0] == "task")
        record = event["Records"][0]
        assert record["body"] == '{"token": "t"}'
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        assert record["eventSourceARN"] == sim.provisioned.queue_arn("queue.task.reserve_stock")
        assert record["messageId"]
        assert record["receiptHandle"]
        assert environment["EVENTUAL_AWS_TASK"] == "reserve_stock"
        assert context.get_remaining_time_in_millis() > 0  # type: ignore[attr-defined]
        await _eventually(lambda: _count(aws, url) == 0)


def _count(aws: Callable[[str], Any], url: str) -> int:
    attributes = aws("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


async def test_partial_batch_failures_leave_only_the_failed_messages(
    simulator: Open, stand_in: StandIn, aws: Callable[[str], Any]
) -> None:
    """Messages the answer names stay in the queue (in flight); the others are deleted."""
    stand_in.failing.add("bad")
    async with simulator() as sim:
        url = sim.provisioned.queue_url("queue.timer")
        aws("sqs").send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(["a", "bad", "b"])
            ],
        )
        await _eventually(lambda: sorted(stand_in.bodies("timer")) == ["a", "b", "bad"])
        await _eventually(lambda: _count(aws, url) == 1)


async def test_a_function_that_keeps_crashing_has_its_message_dead_lettered(
    simulator: Open, stand_in: StandIn, aws: Callable[[str], Any]
) -> None:
    """A crashed batch comes back until maxReceiveCount, then lands in the dead-letter queue."""
    async with simulator() as sim:
        sim.crash_after("timer", times=100)
        url = sim.provisioned.queue_url("queue.timer")
        aws("sqs").send_message(QueueUrl=url, MessageBody="doomed")
        dead = sim.provisioned.queue_url("queue.timer-dlq")
        await _eventually(lambda: _count(aws, dead) == 1, timeout=20)
        assert stand_in.bodies("timer") == ["doomed"] * 5


async def test_duplicate_deliveries_hand_every_message_over_twice(
    simulator: Open, stand_in: StandIn, aws: Callable[[str], Any]
) -> None:
    """With duplicate_deliveries each message reaches its function twice, then is deleted."""
    async with simulator(duplicate_deliveries=True) as sim:
        url = sim.provisioned.queue_url("queue.timer")
        aws("sqs").send_message(QueueUrl=url, MessageBody="twice")
        await _eventually(lambda: stand_in.bodies("timer") == ["twice", "twice"])
        await _eventually(lambda: _count(aws, url) == 0)


async def test_a_due_schedule_invokes_the_forwarder_and_deletes_itself(
    simulator: Open, stand_in: StandIn, aws: Callable[[str], Any]
) -> None:
    """A due one-time schedule runs its input through the forwarder; a later one waits."""
    async with simulator() as sim:
        values = sim.provisioned.values
        scheduler = aws("scheduler")
        group = sim.plan.schedule_group.name
        for name, when in (
            ("due", datetime.now(UTC) - timedelta(seconds=1)),
            ("later", datetime.now(UTC) + timedelta(days=30)),
        ):
            scheduler.create_schedule(
                Name=name,
                GroupName=group,
                ScheduleExpression=f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": values["function.forwarder.arn"],
                    "RoleArn": values["role.scheduler.arn"],
                    "Input": json.dumps({"timer_id": name}),
                },
            )
        await _eventually(lambda: any(c[0] == "forwarder" for c in stand_in.calls))
        forwarded = [
            event
            for kind, event, _, _ in stand_in.calls
            if kind == "forwarder" and "timer_id" in event  # not the nightly restock's
        ]
        assert forwarded == [{"timer_id": "due"}]
        left = scheduler.list_schedules(GroupName=group)["Schedules"]
        # The group also holds the example's recurring schedule, which stays.
        recurring = {s.name for s in sim.plan.schedules}
        assert len(recurring) == 1
        await _eventually(
            lambda: (
                {s["Name"] for s in scheduler.list_schedules(GroupName=group)["Schedules"]}
                == {"later", *recurring}
            )
        )
        assert left


async def test_http_requests_reach_the_api_function_as_payload_2_0(
    simulator: Open, stand_in: StandIn
) -> None:
    """A request on a plan route reaches the api function with its parameters; others get 404."""
    async with simulator() as sim:
        response = await sim.http("GET", "/orders/o1?verbose=1")
        assert response.status_code == 200
        assert response.json() == {"path": "/orders/o1", "params": {"order_id": "o1"}}
        event = stand_in.calls[-1][1]
        assert event["version"] == "2.0"
        assert event["routeKey"] == "GET /orders/{order_id}"
        assert event["queryStringParameters"] == {"verbose": "1"}
        missing = await sim.http("GET", "/nowhere")
        assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
        assert sim.requests["sqs.CreateQueue"] >= len(sim.plan.queues)


def test_routes_are_matched_as_api_gateway_prefers_them(simulator: Open) -> None:
    """An exact path wins over a variable one, and the greedy system route catches the rest."""
    routes = simulator().plan.http_api.routes
    exact = match_route(routes, "GET", "/_eventual/openapi.json")
    assert exact is not None
    assert exact[0].serves == "OpenAPI document"
    system = match_route(routes, "POST", "/_eventual/executions/x/signal")
    assert system is not None
    assert system[0].path == "/_eventual/{proxy+}"
    assert match_route(routes, "DELETE", "/orders/o1") is None


async def test_published_events_reach_the_subscription_function_through_the_rule(
    simulator: Open, stand_in: StandIn
) -> None:
    """ev.publish in the simulator puts the event on the bus; its rule feeds the subscription."""
    from orders.service import OrderPlaced, order_placed

    async with simulator():
        await order_placed.publish(OrderPlaced(order_id="o9"))
        await _eventually(lambda: bool(stand_in.bodies("subscription")))
        body = json.loads(stand_in.bodies("subscription")[0])
        assert body["detail-type"] == "OrderPlaced"
        assert body["detail"]["order_id"] == "o9"


async def test_without_the_simulator_extra_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, stand_in: StandIn
) -> None:
    """endpoint_url=None without moto installed fails naming eventual-aws[simulator]."""
    import builtins

    real_import = builtins.__import__

    def refuse(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("moto"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse)
    with pytest.raises(Exception, match=r"eventual-aws\[simulator\]"):
        async with Simulator("orders.service", functions=stand_in):
            pass
