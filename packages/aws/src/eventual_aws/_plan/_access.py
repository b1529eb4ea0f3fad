"""What each kind of function is configured with and allowed to do.

One table decides both, so that a function is never given a resource's name
without the right to use it, nor a right it has no name to use. Each handler
kind reaches:

============  ==========================================================================
kind          resources and calls
============  ==========================================================================
orchestrator  table (read, conditional writes, queries), bucket (get, put), workflow
              queue (consume, send), every task queue and the timer queue (send), bus
              (``PutEvents``), schedule group (create, delete schedules; passes the
              scheduler role and names the forwarder and its dead-letter queue)
timer         table, bucket, timer queue (consume), workflow queue and every task
              queue (send)
forwarder     timer queue (send)
task          table, bucket, its own task queue (consume), workflow queue (send), bus
subscription  table, bucket, its own subscription queue (consume; changing a message's
              visibility is how a retry waits), workflow queue (send), bus
api           table, bucket, workflow queue (send), bus
============  ==========================================================================

Every function also writes its own log group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import attrs

from ._function import FunctionKind
from ._resources import StatementPlan

__all__ = [
    "ENV",
    "PASSED_TO_SCHEDULER",
    "Access",
    "environment",
    "statements",
]


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


PASSED_TO_SCHEDULER: Final = frozenset({"function.forwarder", "queue.forwarder-dlq"})
"""Resources a function only names in a schedule it creates; the scheduler's role uses them."""

TABLE_ACTIONS: Final = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
"""``TransactWriteItems`` and ``TransactGetItems`` are authorised by these per item."""
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
SCHEDULE_ACTIONS: Final = ("scheduler:CreateSchedule", "scheduler:DeleteSchedule")
PASS_ROLE_ACTIONS: Final = ("iam:PassRole",)
LOG_ACTIONS: Final = ("logs:CreateLogStream", "logs:PutLogEvents")


@attrs.frozen(kw_only=True)
class Access:
    """What one function reaches, before it is written as variables and statements.

    Attributes:
        kind: The handler kind.
        own_queue: The plan id of the queue it consumes, if any.
    """

    kind: FunctionKind
    own_queue: str | None = None

    @property
    def sends_to_tasks(self) -> bool:
        """Whether the function dispatches task attempts (orchestrator and timer)."""
        return self.kind in ("orchestrator", "timer")


def _uses_storage(kind: FunctionKind) -> bool:
    return kind != "forwarder"


def _publishes(kind: FunctionKind) -> bool:
    return kind in ("orchestrator", "task", "subscription", "api")


def environment(
    access: Access,
    *,
    service: str,
    module: str,
    prefix: str,
    definition: str | None = None,
) -> dict[str, str]:
    """Return the configuration variables of a function, sorted by name.

    Args:
        access: What the function reaches.
        service: The service's name.
        module: The module the service loads from.
        prefix: The prefix of the queue names.
        definition: The task's or subscription's name, on its function.
    """
    kind = access.kind
    env = {
        ENV.SERVICE: module,
        ENV.SERVICE_NAME: service,
        ENV.BACKEND: "aws",
        ENV.EVENT_BUS: "eventbridge",
    }
    if _uses_storage(kind):
        env[ENV.TABLE] = "${table.name}"
        env[ENV.BUCKET] = "${bucket.name}"
        env[ENV.WORKFLOW_QUEUE_URL] = "${queue.workflow.url}"
    if _publishes(kind):
        env[ENV.EVENT_BUS_NAME] = "${bus.name}"
    if access.sends_to_tasks:
        env[ENV.QUEUE_PREFIX] = prefix
    if kind in ("orchestrator", "timer", "forwarder"):
        env[ENV.TIMER_QUEUE_URL] = "${queue.timer.url}"
    if kind == "orchestrator":
        env[ENV.SCHEDULE_GROUP] = "${schedule_group.name}"
        env[ENV.SCHEDULER_ROLE_ARN] = "${role.scheduler.arn}"
        env[ENV.FORWARDER_ARN] = "${function.forwarder.arn}"
        env[ENV.FORWARDER_DLQ_ARN] = "${queue.forwarder-dlq.arn}"
    if kind == "task" and definition is not None:
        env[ENV.TASK] = definition
    if kind == "subscription" and definition is not None:
        env[ENV.SUBSCRIPTION] = definition
    return dict(sorted(env.items()))


def statements(
    access: Access,
    *,
    log_group: str,
    task_queues: Sequence[str],
    schedule_group_name: str,
) -> tuple[StatementPlan, ...]:
    """Return the IAM statements of a function's role.

    Args:
        access: What the function reaches.
        log_group: The plan id of its log group.
        task_queues: The plan ids of every task queue.
        schedule_group_name: The schedule group's name (schedules' ARNs hold it).
    """
    kind = access.kind
    found: list[StatementPlan] = []

    def allow(resource: str, actions: tuple[str, ...], *arns: str) -> None:
        found.append(StatementPlan(resource=resource, actions=actions, arns=arns))

    def send(queue: str) -> None:
        allow(queue, SEND_ACTIONS, "${" + queue + ".arn}")

    if _uses_storage(kind):
        allow("table", TABLE_ACTIONS, "${table.arn}", "${table.arn}/index/*")
        allow("bucket", BUCKET_ACTIONS, "${bucket.arn}/*")
    if access.own_queue is not None:
        allow(access.own_queue, CONSUME_ACTIONS, "${" + access.own_queue + ".arn}")
    if _uses_storage(kind):
        send("queue.workflow")
    if kind in ("orchestrator", "forwarder"):
        send("queue.timer")
    if access.sends_to_tasks:
        for queue in task_queues:
            send(queue)
    if _publishes(kind):
        allow("bus", BUS_ACTIONS, "${bus.arn}")
    if kind == "orchestrator":
        allow(
            "schedule_group",
            SCHEDULE_ACTIONS,
            "arn:${aws.partition}:scheduler:${aws.region}:${aws.account}:schedule/"
            f"{schedule_group_name}/*",
        )
        allow("role.scheduler", PASS_ROLE_ACTIONS, "${role.scheduler.arn}")
    allow(log_group, LOG_ACTIONS, "${" + log_group + ".arn}")
    return tuple(found)
