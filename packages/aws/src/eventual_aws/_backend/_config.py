"""Where the AWS backend finds its resources: the plan's environment, or configuration options."""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

from eventual import EventualError
from eventual.plugins import EventualConfig

__all__ = ["ENVIRONMENT", "SHARDS", "AwsBackendConfig"]

SHARDS = ("timer_shards", "listing_shards", "task_shards", "inbox_shards", "outbox_shards")
"""The settings that spread an index over partitions; every function must agree on each."""

ENVIRONMENT: Mapping[str, str] = {
    "table": "EVENTUAL_AWS_TABLE",
    "bucket": "EVENTUAL_AWS_BUCKET",
    "workflow_queue_url": "EVENTUAL_AWS_WORKFLOW_QUEUE_URL",
    "timer_queue_url": "EVENTUAL_AWS_TIMER_QUEUE_URL",
    "queue_prefix": "EVENTUAL_AWS_QUEUE_PREFIX",
    "schedule_group": "EVENTUAL_AWS_SCHEDULE_GROUP",
    "scheduler_role_arn": "EVENTUAL_AWS_SCHEDULER_ROLE_ARN",
    "forwarder_arn": "EVENTUAL_AWS_FORWARDER_ARN",
    "forwarder_dlq_arn": "EVENTUAL_AWS_FORWARDER_DLQ_ARN",
    "timer_shards": "EVENTUAL_AWS_TIMER_SHARDS",
    "listing_shards": "EVENTUAL_AWS_LISTING_SHARDS",
    "task_shards": "EVENTUAL_AWS_TASK_SHARDS",
    "inbox_shards": "EVENTUAL_AWS_INBOX_SHARDS",
    "outbox_shards": "EVENTUAL_AWS_OUTBOX_SHARDS",
}
"""The variable that names each resource or setting (docs/aws.md, configuration contract)."""


@attrs.frozen(kw_only=True)
class AwsBackendConfig:
    """The AWS resources one service's backend uses.

    Only ``table`` and ``bucket`` are required: they hold the state. Each
    doorbell rings only when its resource is configured, so an engine that polls
    the table (``Engine.serve``) runs without queues.

    Attributes:
        table: The DynamoDB table (keys ``pk``/``sk``, indexes ``gsi1`` and ``gsi2``).
        bucket: The S3 bucket for payloads over the item limit and split steps.
        workflow_queue_url: The SQS FIFO queue rung when an execution has messages.
        timer_queue_url: The SQS standard queue rung for timers due within 15 minutes.
        queue_prefix: The prefix of the plan's queue names; a task's queue is
            ``<prefix>-task-<task>``, next to the workflow queue.
        schedule_group: The EventBridge Scheduler group of one-time timer schedules.
        scheduler_role_arn: The role schedules run as.
        forwarder_arn: The function a schedule invokes (the forwarder).
        forwarder_dlq_arn: Where the Scheduler sends what it could not deliver.
        region: The AWS region, or None for the standard chain (``AWS_REGION``, ...).
        endpoint_url: A local AWS endpoint (moto, LocalStack), or None for AWS.
        timer_shards: Partitions of the timer index (see docs/aws.md, "Limits").
        listing_shards: Partitions of each listing index (all, by workflow, by
            status, by both): a listing page reads one per shard.
        task_shards: Partitions of the task attempt index.
        inbox_shards: Partitions of the index of executions with messages waiting.
        outbox_shards: Partitions of the outbox of published events waiting for
            the bus: a relay reads every one.
        max_workers: Threads running boto3 calls (boto3 is synchronous).
    """

    table: str
    bucket: str
    workflow_queue_url: str | None = None
    timer_queue_url: str | None = None
    queue_prefix: str | None = None
    schedule_group: str | None = None
    scheduler_role_arn: str | None = None
    forwarder_arn: str | None = None
    forwarder_dlq_arn: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    timer_shards: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    listing_shards: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    task_shards: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    inbox_shards: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    outbox_shards: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    max_workers: int = attrs.field(default=16, validator=attrs.validators.ge(1))

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> AwsBackendConfig:
        """Read the configuration the plan sets on every function (``EVENTUAL_AWS_*``).

        Raises:
            EventualError: ``EVENTUAL_AWS_TABLE`` or ``EVENTUAL_AWS_BUCKET`` is unset.
        """
        return cls.from_config(EventualConfig(backend="aws"), env)

    @classmethod
    def from_config(
        cls, config: EventualConfig, env: Mapping[str, str] | None = None
    ) -> AwsBackendConfig:
        """Read the configuration from ``EVENTUAL_AWS_*`` and ``aws_*`` options, options winning.

        Options are the keys of ``[tool.eventual]`` (or ``[tool.eventual.options]``)
        named like the attributes with an ``aws_`` prefix: ``aws_table``,
        ``aws_bucket``, ``aws_region``, ``aws_endpoint_url``, ``aws_listing_shards``, ...

        Raises:
            EventualError: The table or the bucket is not named, or a number is not one.
        """
        env = os.environ if env is None else env
        values: dict[str, str] = {}
        for name, variable in ENVIRONMENT.items():
            if env.get(variable):
                values[name] = env[variable]
        for name in (*ENVIRONMENT, "region", "endpoint_url", "max_workers"):
            option = config.options.get(f"aws_{name}")
            if option is not None and option != "":
                values[name] = str(option)
        missing = [ENVIRONMENT[name] for name in ("table", "bucket") if name not in values]
        if missing:
            raise EventualError(
                f"the aws backend needs {' and '.join(missing)} (set by the plan on every "
                "function), or aws_table and aws_bucket in [tool.eventual]"
            )
        numbers: dict[str, int] = {name: 1 for name in SHARDS} | {"max_workers": 16}
        for name in numbers:
            if name in values:
                text = values[name]
                try:
                    numbers[name] = int(text)
                except ValueError:
                    raise EventualError(f"aws_{name} must be an integer, got {text!r}") from None
                if numbers[name] < 1:
                    raise EventualError(f"aws_{name} must be 1 or more, got {text!r}")
        return cls(
            table=values["table"],
            bucket=values["bucket"],
            workflow_queue_url=values.get("workflow_queue_url"),
            timer_queue_url=values.get("timer_queue_url"),
            queue_prefix=values.get("queue_prefix"),
            schedule_group=values.get("schedule_group"),
            scheduler_role_arn=values.get("scheduler_role_arn"),
            forwarder_arn=values.get("forwarder_arn"),
            forwarder_dlq_arn=values.get("forwarder_dlq_arn"),
            region=values.get("region"),
            endpoint_url=values.get("endpoint_url"),
            timer_shards=numbers["timer_shards"],
            listing_shards=numbers["listing_shards"],
            task_shards=numbers["task_shards"],
            inbox_shards=numbers["inbox_shards"],
            outbox_shards=numbers["outbox_shards"],
            max_workers=numbers["max_workers"],
        )
