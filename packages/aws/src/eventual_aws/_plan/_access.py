"""What each function is configured with and allowed to do.

One module decides both, so that a function is never given a resource's name
without the right to use it, nor a right it has no name to use.

Every function runs the engine's AWS backend, and the backend rings, after any
commit, the doorbells that commit implies: starting an execution (from a
command, a subscription, a task or a child workflow) puts its timeout timer,
often days away, so it creates a Scheduler schedule; a heartbeat moves a timer;
a task woken before its back-off ends rings its own queue again; a step
dispatches task attempts to their queues. Which function makes which commit
depends on user code, so every function is given the whole runtime
configuration (the table, the bucket, every doorbell, the bus) and the rights
it implies:

- the table (items and indexes: get, put, update, delete, batches, queries) and
  the bucket's objects (get, put; objects are never deleted);
- ``sqs:SendMessage`` on the workflow queue, the timer queue and every task
  queue (task queue URLs are derived from the workflow queue's and the prefix);
- ``scheduler:CreateSchedule`` on the schedule group's schedules (each deletes
  itself after it ran), and ``iam:PassRole`` on the scheduler role (a schedule names the
  forwarder and its dead-letter queue; the role, not the function, uses them);
- ``events:PutEvents`` on the bus;
- its own log group.

What differs between functions is what they consume: the orchestrator the
workflow queue, the timer handler the timer queue, a task's or subscription's
function its own queue (receive, delete, change visibility, get attributes;
changing a message's visibility is how a subscription's retry waits), and
which task or subscription it runs (``EVENTUAL_AWS_TASK``,
``EVENTUAL_AWS_SUBSCRIPTION``); and the ``api`` function, which serves the
system API, may also list dead letters (receive and delete on every
subscription's dead-letter queue) and redrive them (send to, and count, every
subscription's queue).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from ._function import FunctionKind
from ._resources import StatementPlan

__all__ = ["ENV", "PASSED_TO_SCHEDULER", "SHARDS", "environment", "statements"]


class ENV:
    """The names of the configuration variables (docs/aws.md, "Configuration contract")."""

    SERVICE: Final = "EVENTUAL_SERVICE"
    BACKEND: Final = "EVENTUAL_BACKEND"
    EVENT_BUS: Final = "EVENTUAL_EVENT_BUS"
    SERVICE_NAME: Final = "EVENTUAL_SERVICE_NAME"
    TABLE: Final = "EVENTUAL_AWS_TABLE"
    BUCKET: Final = "EVENTUAL_AWS_BUCKET"
    WORKFLOW_QUEUE_URL: Final = "EVENTUAL_AWS_WORKFLOW_QUEUE_URL"
    TIMER_QUEUE_URL: Final = "EVENTUAL_AWS_TIMER_QUEUE_URL"
    QUEUE_PREFIX: Final = "EVENTUAL_AWS_QUEUE_PREFIX"
    EVENT_BUS_NAME: Final = "EVENTUAL_AWS_EVENT_BUS_NAME"
    SCHEDULE_GROUP: Final = "EVENTUAL_AWS_SCHEDULE_GROUP"
    SCHEDULER_ROLE_ARN: Final = "EVENTUAL_AWS_SCHEDULER_ROLE_ARN"
    FORWARDER_ARN: Final = "EVENTUAL_AWS_FORWARDER_ARN"
    FORWARDER_DLQ_ARN: Final = "EVENTUAL_AWS_FORWARDER_DLQ_ARN"
    TASK: Final = "EVENTUAL_AWS_TASK"
    SUBSCRIPTION: Final = "EVENTUAL_AWS_SUBSCRIPTION"
    TIMER_SHARDS: Final = "EVENTUAL_AWS_TIMER_SHARDS"
    LISTING_SHARDS: Final = "EVENTUAL_AWS_LISTING_SHARDS"
    TASK_SHARDS: Final = "EVENTUAL_AWS_TASK_SHARDS"
    INBOX_SHARDS: Final = "EVENTUAL_AWS_INBOX_SHARDS"
    OUTBOX_SHARDS: Final = "EVENTUAL_AWS_OUTBOX_SHARDS"


SHARDS: Final = (
    "timer_shards",
    "listing_shards",
    "task_shards",
    "inbox_shards",
    "outbox_shards",
)
"""The backend's index shard settings, ``EVENTUAL_AWS_<SETTING>`` on every function."""

PASSED_TO_SCHEDULER: Final = frozenset({"function.forwarder", "queue.forwarder-dlq"})
"""Resources a function only names in a schedule it creates; the scheduler's role uses them."""

TABLE_ACTIONS: Final = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
"""``TransactWriteItems`` is authorised by these item by item (puts, updates, deletes)."""
BUCKET_ACTIONS: Final = ("s3:GetObject", "s3:PutObject")
SEND_ACTIONS: Final = ("sqs:SendMessage",)
"""``SendMessageBatch`` is authorised by ``sqs:SendMessage``."""
CONSUME_ACTIONS: Final = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
)
BUS_ACTIONS: Final = ("events:PutEvents",)
REDRIVE_ACTIONS: Final = ("sqs:GetQueueAttributes", "sqs:SendMessage")
SWEEP_ACTIONS: Final = ("sqs:DeleteMessage", "sqs:ReceiveMessage")
SCHEDULE_ACTIONS: Final = ("scheduler:CreateSchedule",)
"""A timer's schedule deletes itself after it ran (``ActionAfterCompletion=DELETE``)."""
PASS_ROLE_ACTIONS: Final = ("iam:PassRole",)
LOG_ACTIONS: Final = ("logs:CreateLogStream", "logs:PutLogEvents")


def environment(
    kind: FunctionKind,
    *,
    service: str,
    module: str,
    prefix: str,
    definition: str | None = None,
    shards: Mapping[str, int] | None = None,
) -> dict[str, str]:
    """Return the configuration variables of a function, sorted by name.

    Args:
        kind: The handler kind.
        service: The service's name.
        module: The module the service loads from.
        prefix: The prefix of the queue names.
        definition: The task's or subscription's name, on its function.
        shards: Index shard counts by setting (``listing_shards``, ...); every
            function gets the same, and a count of 1 (the default) sets nothing.
    """
    env = {
        ENV.SERVICE: module,
        ENV.SERVICE_NAME: service,
        ENV.BACKEND: "aws",
        ENV.EVENT_BUS: "eventbridge",
        ENV.TABLE: "${table.name}",
        ENV.BUCKET: "${bucket.name}",
        ENV.WORKFLOW_QUEUE_URL: "${queue.workflow.url}",
        ENV.TIMER_QUEUE_URL: "${queue.timer.url}",
        ENV.QUEUE_PREFIX: prefix,
        ENV.EVENT_BUS_NAME: "${bus.name}",
        ENV.SCHEDULE_GROUP: "${schedule_group.name}",
        ENV.SCHEDULER_ROLE_ARN: "${role.scheduler.arn}",
        ENV.FORWARDER_ARN: "${function.forwarder.arn}",
        ENV.FORWARDER_DLQ_ARN: "${queue.forwarder-dlq.arn}",
    }
    if kind == "task" and definition is not None:
        env[ENV.TASK] = definition
    if kind == "subscription" and definition is not None:
        env[ENV.SUBSCRIPTION] = definition
    for name, count in (shards or {}).items():
        if count != 1:
            env[f"EVENTUAL_AWS_{name.upper()}"] = str(count)
    return dict(sorted(env.items()))


def statements(
    *,
    own_queue: str | None,
    log_group: str,
    task_queues: Sequence[str],
    schedule_group_name: str,
    subscription_queues: Sequence[str] = (),
    system_api: bool = False,
) -> tuple[StatementPlan, ...]:
    """Return the IAM statements of a function's role.

    Args:
        own_queue: The plan id of the queue it consumes, if any.
        log_group: The plan id of its log group.
        task_queues: The plan ids of every task queue.
        schedule_group_name: The schedule group's name (schedules' ARNs hold it).
        subscription_queues: The plan ids of every subscription queue.
        system_api: Whether the function serves the system API, whose dead-letter
            endpoints read the subscriptions' dead-letter queues and redrive.
    """
    found: list[StatementPlan] = []

    def allow(resource: str, actions: tuple[str, ...], *arns: str) -> None:
        found.append(StatementPlan(resource=resource, actions=actions, arns=arns))

    allow("table", TABLE_ACTIONS, "${table.arn}", "${table.arn}/index/*")
    allow("bucket", BUCKET_ACTIONS, "${bucket.arn}/*")
    if own_queue is not None:
        allow(own_queue, CONSUME_ACTIONS, "${" + own_queue + ".arn}")
    for queue in ("queue.workflow", "queue.timer", *task_queues):
        allow(queue, SEND_ACTIONS, "${" + queue + ".arn}")
    allow(
        "schedule_group",
        SCHEDULE_ACTIONS,
        "arn:${aws.partition}:scheduler:${aws.region}:${aws.account}:schedule/"
        f"{schedule_group_name}/*",
    )
    allow("role.scheduler", PASS_ROLE_ACTIONS, "${role.scheduler.arn}")
    allow("bus", BUS_ACTIONS, "${bus.arn}")
    if system_api:
        for queue in subscription_queues:
            # Redrive sends a dead letter back; pending() counts what waits.
            allow(queue, REDRIVE_ACTIONS, "${" + queue + ".arn}")
            # Listing dead letters moves crashed deliveries into the table.
            dead = queue + "-dlq"
            allow(dead, SWEEP_ACTIONS, "${" + dead + ".arn}")
    allow(log_group, LOG_ACTIONS, "${" + log_group + ".arn}")
    return tuple(found)
