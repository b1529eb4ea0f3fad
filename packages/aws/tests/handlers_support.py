"""A service's plan provisioned on moto, and its functions driven the way Lambda would.

``Deployed`` creates what the plan lists (table, bucket, queues with their
dead-letter queues, the bus and its rules, the schedule group), resolves each
function's environment, and feeds each handler the messages found on its
queue: it receives them from moto, builds the Lambda SQS event itself, and
deletes what the answer does not report failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import boto3

from eventual_aws import ServicePlan, plan
from eventual_aws._backend import AwsBackend, AwsBackendConfig
from eventual_aws._lambda import invoke_async, runtime_for
from eventual_aws._lambda._runtime import Runtime

REGION = "us-east-1"
ACCOUNT = "123456789012"


class Context:
    """A Lambda context: a request id and the time left."""

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.aws_request_id = uuid.uuid4().hex
        self._remaining = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining


class Deployed:
    """A provisioned plan on moto and its functions' environments."""

    def __init__(
        self,
        module: str,
        endpoint: str,
        session: boto3.Session,
        *,
        shards: Mapping[str, int] | None = None,
    ) -> None:
        self.module = module
        self.endpoint = endpoint
        self.session = session
        self.suffix = uuid.uuid4().hex[:8]
        self.plan: ServicePlan = plan(module, prefix=f"t{self.suffix}", shards=shards)
        # Typed loosely: tests build requests from plain dicts.
        self.sqs: Any = session.client("sqs", endpoint_url=endpoint)
        self.scheduler: Any = session.client("scheduler", endpoint_url=endpoint)
        self.urls: dict[str, str] = {}
        self.arns: dict[str, str] = {}
        self.environments: dict[str, dict[str, str]] = {}
        self.invocations: Counter[str] = Counter()
        self.context: Callable[[], object] = Context
        self.duplicates = False
        self._in_flight: list[tuple[str, str]] = []

    async def provision(self) -> Deployed:
        """Create the plan's resources and resolve every function's environment."""
        table, bucket = f"table-{self.suffix}", f"bucket-{self.suffix}"
        backend = AwsBackend(
            AwsBackendConfig(table=table, bucket=bucket, region=REGION, endpoint_url=self.endpoint),
            session=self.session,
        )
        await backend.create_resources()
        await backend.close()
        queues = sorted(self.plan.queues, key=lambda queue: queue.redrive is not None)
        for queue in queues:
            attributes: dict[str, str] = {"VisibilityTimeout": "30"}
            if queue.fifo:
                attributes |= {"FifoQueue": "true"}
            if queue.redrive is not None:
                attributes["RedrivePolicy"] = json.dumps(
                    {
                        "deadLetterTargetArn": self.arns[queue.redrive.dead_letter_queue],
                        "maxReceiveCount": queue.redrive.max_receive_count,
                    }
                )
            url = self.sqs.create_queue(QueueName=queue.name, Attributes=attributes)["QueueUrl"]
            self.urls[queue.id] = url
            self.arns[queue.id] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue.name}"
        events = self.session.client("events", endpoint_url=self.endpoint)
        events.create_event_bus(Name=self.plan.event_bus.name)
        for rule in self.plan.rules:
            events.put_rule(
                Name=rule.name,
                EventBusName=self.plan.event_bus.name,
                EventPattern=json.dumps(rule.pattern),
            )
            events.put_targets(
                Rule=rule.name,
                EventBusName=self.plan.event_bus.name,
                Targets=[{"Id": "queue", "Arn": self.arns[rule.target]}],
            )
        group = self.plan.schedule_group.name
        self.scheduler.create_schedule_group(Name=group)
        values: dict[str, str] = {
            "table.name": table,
            "bucket.name": bucket,
            "aws.region": REGION,
            "aws.account": ACCOUNT,
            "aws.partition": "aws",
        }
        for reference in self.plan.references():
            if reference.key in values:
                continue
            resource = reference.resource
            if resource in self.urls:
                values[reference.key] = {"url": self.urls, "arn": self.arns}.get(
                    reference.attribute, self.urls
                )[resource]
                if reference.attribute == "name":
                    values[reference.key] = self.urls[resource].rsplit("/", 1)[1]
            elif reference.attribute in ("arn", "id", "url"):
                values[reference.key] = f"arn:aws:x:{REGION}:{ACCOUNT}:{resource}"
            else:
                names = {"bus": self.plan.event_bus.name, "schedule_group": group}
                values[reference.key] = names[resource]
        resolved = self.plan.resolve(values)
        for function in resolved.functions:
            self.environments[function.name] = {
                **function.environment,
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
            }
        return self

    def runtime(self, function: str = "orchestrator") -> Runtime:
        """Return the runtime of one of the plan's functions."""
        return runtime_for(self.environments[function])

    def kind(self, function: str) -> str:
        """Return a function's kind."""
        return self.plan.function(function).kind

    async def invoke(self, function: str, event: Any, context: object | None = None) -> Any:
        """Invoke a function with an event, as Lambda would."""
        self.invocations[function] += 1
        return await invoke_async(
            self.kind(function), event, context or self.context(), self.environments[function]
        )

    def consumer_of(self, queue_id: str) -> str:
        """Return the function that consumes a queue."""
        for function in self.plan.functions:
            if any(source.queue == queue_id for source in function.event_sources):
                return function.name
        raise KeyError(queue_id)

    async def receive(self, queue_id: str, wait: int = 0) -> list[dict[str, Any]]:
        """Receive up to ten messages of a queue, as the event source mapping would."""
        answer = await asyncio.to_thread(
            self.sqs.receive_message,
            QueueUrl=self.urls[queue_id],
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        self._in_flight += [(queue_id, m["ReceiptHandle"]) for m in messages]
        return messages

    def expire_visibility(self) -> None:
        """Make every message received and not deleted visible again (a dead function's)."""
        for queue_id, receipt in self._in_flight:
            with contextlib.suppress(Exception):  # deleted meanwhile
                self.sqs.change_message_visibility(
                    QueueUrl=self.urls[queue_id], ReceiptHandle=receipt, VisibilityTimeout=0
                )
        self._in_flight.clear()

    def record(
        self, queue_id: str, body: str, *, message_id: str = "m1", receive_count: int = 1
    ) -> dict[str, Any]:
        """Return a Lambda SQS record with ``body``, as if received from ``queue_id``."""
        return sqs_record(
            {
                "MessageId": message_id,
                "ReceiptHandle": f"receipt-{message_id}",
                "Body": body,
                "Attributes": {"ApproximateReceiveCount": str(receive_count)},
            },
            self.arns[queue_id],
        )

    def event_of(self, queue_id: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Return the Lambda SQS event of received messages."""
        return {"Records": [sqs_record(m, self.arns[queue_id]) for m in messages]}

    async def deliver(self, queue_id: str, messages: list[dict[str, Any]]) -> Any:
        """Hand messages to their queue's function; delete those it did not report failed."""
        function = self.consumer_of(queue_id)
        event = self.event_of(queue_id, messages)
        answer = await self.invoke(function, event)
        if self.duplicates:  # what SQS may do: the same messages again
            answer = await self.invoke(function, event)
        failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(
                    QueueUrl=self.urls[queue_id], ReceiptHandle=message["ReceiptHandle"]
                )
                self._in_flight.remove((queue_id, message["ReceiptHandle"]))
        return answer

    def consumed_queues(self) -> list[str]:
        """Return the ids of queues a function consumes."""
        return [s.queue for f in self.plan.functions for s in f.event_sources]

    async def pump(self, rounds: int = 50) -> int:
        """Deliver what every consumed queue holds until all are empty; return how many."""
        total = 0
        for _ in range(rounds):
            moved = 0
            for queue_id in self.consumed_queues():
                messages = await self.receive(queue_id)
                if messages:
                    moved += len(messages)
                    await self.deliver(queue_id, messages)
            total += moved
            if not moved:
                return total
        return total

    async def pump_until(
        self,
        condition: Callable[[], Awaitable[bool]],
        *,
        pump: Callable[[], Awaitable[object]] | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Pump (with ``pump`` if given) until ``condition`` holds; fail after ``timeout`` s.

        Delayed messages (a timer's) become visible on moto's clock, not the test's, so
        a test waits for what it expects rather than for a fixed time.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await (pump or self.pump)()
            if await condition():
                return
            if loop.time() > deadline:
                raise AssertionError(f"the condition still fails after {timeout} s of pumping")
            await asyncio.sleep(0.1)

    def schedules(self) -> list[dict[str, Any]]:
        """Return the one-time schedules of the plan's group, with their targets."""
        group = self.plan.schedule_group.name
        names = [s["Name"] for s in self.scheduler.list_schedules(GroupName=group)["Schedules"]]
        return [self.scheduler.get_schedule(Name=n, GroupName=group) for n in names]

    def queue_depth(self, queue_id: str) -> int:
        """Return how many messages a queue holds (visible, in flight or delayed)."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.urls[queue_id], AttributeNames=["All"]
        )["Attributes"]
        return sum(
            int(attributes[name])
            for name in (
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            )
        )


def sqs_record(message: Mapping[str, Any], arn: str) -> dict[str, Any]:
    """Return the Lambda event record of a message received from SQS."""
    attributes = dict(message.get("Attributes", {}))
    attributes.setdefault("ApproximateReceiveCount", "1")
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": REGION,
    }
