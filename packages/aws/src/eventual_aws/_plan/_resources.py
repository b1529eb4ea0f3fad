"""The resources of a plan other than functions: storage, queues, events, the HTTP API.

Each resource has a stable plan id (``queue.task.reserve_stock``), the key by
which functions, statements and placeholders refer to it. Names the plan fixes
are physical AWS names; ``None`` leaves the name to the renderer (the table and
the bucket, whose names must be unique per account or worldwide).
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

__all__ = [
    "BucketPlan",
    "ExpirationPlan",
    "EventBusPlan",
    "HttpApiPlan",
    "LogGroupPlan",
    "QueuePlan",
    "RedrivePlan",
    "RolePlan",
    "RoutePlan",
    "RulePlan",
    "ScheduleGroupPlan",
    "SchedulePlan",
    "ScheduleRetryPlan",
    "StatementPlan",
    "TableIndexPlan",
    "TablePlan",
]


@attrs.frozen(kw_only=True)
class StatementPlan:
    """An IAM policy statement: actions allowed on one plan resource.

    Attributes:
        resource: The plan id the actions apply to.
        actions: IAM actions, never a wildcard (``sqs:SendMessage``).
        arns: The ARNs the statement names, with placeholders
            (``${table.arn}``, ``${table.arn}/index/*``, ``${bucket.arn}/*``).
    """

    resource: str
    actions: tuple[str, ...]
    arns: tuple[str, ...]


@attrs.frozen(kw_only=True)
class TableIndexPlan:
    """A global secondary index (string keys, every attribute projected)."""

    name: str
    partition_key: str
    sort_key: str


@attrs.frozen(kw_only=True)
class TablePlan:
    """The DynamoDB table that holds every record of the engine.

    Attributes:
        id: ``table``.
        partition_key: The partition key's name (a string).
        sort_key: The sort key's name (a string).
        indexes: Global secondary indexes.
        ttl_attribute: The attribute DynamoDB expires items by.
        billing_mode: ``PAY_PER_REQUEST`` (on demand).
        point_in_time_recovery: Whether continuous backups are on.
    """

    id: str = "table"
    partition_key: str
    sort_key: str
    indexes: tuple[TableIndexPlan, ...]
    ttl_attribute: str
    billing_mode: Literal["PAY_PER_REQUEST"] = "PAY_PER_REQUEST"
    point_in_time_recovery: bool = True


@attrs.frozen(kw_only=True)
class ExpirationPlan:
    """A bucket lifecycle rule: objects under ``prefix`` expire ``days`` after they were written.

    Attributes:
        id: The rule's id (``steps``).
        prefix: The key prefix it applies to.
        days: Days after creation at which S3 deletes an object.
        purpose: One line saying why objects there may go.
    """

    id: str
    prefix: str
    days: int
    purpose: str


@attrs.frozen(kw_only=True)
class BucketPlan:
    """The S3 bucket for payloads, results and history events stored by reference.

    Attributes:
        id: ``bucket``.
        block_public_access: Every public access setting blocked.
        encryption: ``S3_MANAGED`` (SSE-S3).
        enforce_ssl: A bucket policy refuses requests not made over TLS.
        versioned: Object versioning (off: objects are written once).
        expirations: Lifecycle rules expiring objects that are only needed for
            a while (the remainders of split steps, under ``steps/``).
    """

    id: str = "bucket"
    block_public_access: bool = True
    encryption: Literal["S3_MANAGED"] = "S3_MANAGED"
    enforce_ssl: bool = True
    versioned: bool = False
    expirations: tuple[ExpirationPlan, ...] = ()


@attrs.frozen(kw_only=True)
class RedrivePlan:
    """Where a queue's messages go after ``max_receive_count`` receives."""

    dead_letter_queue: str
    """The plan id of the dead-letter queue."""
    max_receive_count: int


@attrs.frozen(kw_only=True)
class QueuePlan:
    """An SQS queue (a doorbell) or a dead-letter queue.

    Attributes:
        id: ``queue.workflow``, ``queue.task.<task>``, ... (``-dlq`` for dead letters).
        name: The physical name, ``.fifo`` included for a FIFO queue.
        fifo: FIFO (the workflow queue and its dead-letter queue) or standard.
        visibility_timeout_s: How long a received message stays hidden: six times
            its consumer's timeout plus the batching window (AWS's advice for
            Lambda event sources).
        retention_s: How long an unreceived message is kept.
        redrive: The dead-letter queue and receive count; ``None`` on a
            dead-letter queue.
        high_throughput: FIFO high throughput (deduplication per message group,
            throughput limit per message group id).
        senders: Plan ids of EventBridge rules allowed to send to it (a queue
            policy for ``events.amazonaws.com``, conditioned on the rule's ARN).
        purpose: One line saying what it is for.
    """

    id: str
    name: str
    fifo: bool
    visibility_timeout_s: int
    retention_s: int
    redrive: RedrivePlan | None
    high_throughput: bool = False
    senders: tuple[str, ...] = ()
    purpose: str = ""


@attrs.frozen(kw_only=True)
class EventBusPlan:
    """The EventBridge bus events are published on.

    Attributes:
        id: ``bus``.
        name: Its name.
        existing: ``True``: the bus exists (shared by services, or ``default``)
            and the renderer looks it up instead of creating it.
    """

    id: str = "bus"
    name: str
    existing: bool


@attrs.frozen(kw_only=True)
class RulePlan:
    """An EventBridge rule routing a subscription's events to its queue.

    Attributes:
        id: ``rule.<subscription>``.
        name: The physical name.
        subscription: The subscription's name.
        bus: The plan id of the bus it listens on.
        pattern: The EventBridge event pattern (the subscription's patterns,
            joined with ``$or`` when there are several).
        target: The plan id of the queue matching events are sent to.
    """

    id: str
    name: str
    subscription: str
    bus: str
    pattern: dict[str, Any]
    target: str


@attrs.frozen(kw_only=True)
class ScheduleGroupPlan:
    """The EventBridge Scheduler group holding the service's schedules."""

    id: str = "schedule_group"
    name: str


@attrs.frozen(kw_only=True)
class ScheduleRetryPlan:
    """How Scheduler retries an invocation of a schedule's target that failed.

    Attributes:
        maximum_event_age_s: How long an occurrence is retried, in seconds.
        maximum_retry_attempts: Retries before the occurrence goes to the
            schedule's dead-letter queue.
    """

    maximum_event_age_s: int
    maximum_retry_attempts: int


@attrs.frozen(kw_only=True)
class SchedulePlan:
    """A recurring EventBridge Scheduler schedule: a scheduled workflow's clock on AWS.

    Each occurrence invokes the target with ``input``, in which Scheduler replaces
    ``<aws.scheduler.scheduled-time>`` by the occurrence's time; the target tells
    the workflow's scheduler execution, which applies the overlap and catch-up
    policies and starts the run.

    Attributes:
        id: ``schedule.<workflow>``.
        name: The physical name in the group.
        workflow: The scheduled workflow's name.
        declared: The schedule as the service declares it (its JSON form).
        group: The plan id of the schedule group (``schedule_group``).
        expression: ``cron(minutes hours day-of-month month day-of-week year)``
            or ``rate(value unit)``.
        timezone: The IANA time zone the expression is read in.
        target: The plan id of the function invoked (``function.forwarder``).
        role: The plan id of the role Scheduler invokes it as (``role.scheduler``).
        input: The invocation's event: the text of a JSON object, given to
            Scheduler as it is.
        retry: How a failed invocation is retried.
        dead_letter_queue: The plan id of the queue an occurrence goes to when
            its retries are spent.
        flexible_time_window: ``OFF``: each occurrence is invoked at its time.
        state: ``ENABLED``; pausing a schedule happens in its scheduler
            execution, not here (docs/aws.md, "Workflow schedules").
    """

    id: str
    name: str
    workflow: str
    declared: dict[str, Any]
    group: str = "schedule_group"
    expression: str
    timezone: str
    target: str = "function.forwarder"
    role: str = "role.scheduler"
    input: str
    retry: ScheduleRetryPlan
    dead_letter_queue: str = "queue.forwarder-dlq"
    flexible_time_window: Literal["OFF"] = "OFF"
    state: Literal["ENABLED"] = "ENABLED"


@attrs.frozen(kw_only=True)
class RolePlan:
    """An IAM role assumed by an AWS service (not a function's own role).

    Attributes:
        id: ``role.scheduler``.
        service_principal: Who assumes it (``scheduler.amazonaws.com``).
        statements: What it may do.
    """

    id: str
    service_principal: str
    statements: tuple[StatementPlan, ...]


@attrs.frozen(kw_only=True)
class LogGroupPlan:
    """A function's CloudWatch log group (``/aws/lambda/<function name>``).

    ``${log_group.<function>.arn}`` covers its log streams (it ends in ``:*``).
    """

    id: str
    name: str
    retention_days: int


@attrs.frozen(kw_only=True)
class RoutePlan:
    """An HTTP API route and the function that serves it.

    Attributes:
        method: ``GET``, ``POST``, ... or ``ANY``.
        path: API Gateway's path syntax (``/orders/{order_id}``, ``/_eventual/{proxy+}``).
        function: The name of the plan function that serves it.
        authorization: ``none``, or ``iam`` (SigV4-signed requests only).
        serves: What it serves (``command place_order``, ``route GET /orders/{order_id}``,
            ``system API``, ``OpenAPI document``).
    """

    method: str
    path: str
    function: str
    authorization: Literal["none", "iam"]
    serves: str

    @property
    def key(self) -> str:
        """API Gateway's route key: ``GET /orders/{order_id}``."""
        return f"{self.method} {self.path}"


@attrs.frozen(kw_only=True)
class HttpApiPlan:
    """The API Gateway HTTP API (payload format 2.0) in front of the ``api`` functions.

    Attributes:
        id: ``api``.
        name: Its name.
        routes: Every route, sorted by path then method.
        payload_format_version: ``2.0``.
        openapi_path: Where the OpenAPI document is served.
        integration_timeout_s: API Gateway's limit for an answer (30 s).
    """

    id: str = "api"
    name: str
    routes: tuple[RoutePlan, ...]
    payload_format_version: str = "2.0"
    openapi_path: str = "/_eventual/openapi.json"
    integration_timeout_s: int = 30
