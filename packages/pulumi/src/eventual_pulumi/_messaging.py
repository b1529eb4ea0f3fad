"""Queues and their dead letters, the event bus, the rules, the schedule group and schedules."""

from __future__ import annotations

import json

import pulumi

from eventual_aws import EventBusPlan, QueuePlan, RulePlan, ScheduleGroupPlan, SchedulePlan

from ._aws import aws
from ._values import Values

__all__ = [
    "create_event_bus",
    "create_queue_policies",
    "create_queues",
    "create_rules",
    "create_schedule_group",
    "create_schedules",
]


def create_queues(
    name: str,
    queues: tuple[QueuePlan, ...],
    values: Values,
    *,
    kms_key: pulumi.Input[str] | None,
    parent: pulumi.Resource,
) -> dict[str, aws.sqs.Queue]:
    """Create every queue of the plan, dead-letter queues first, each source with its redrive.

    Returns:
        The queues by plan id.
    """
    created: dict[str, aws.sqs.Queue] = {}
    # A redrive policy names its dead-letter queue's ARN, so dead letters come first.
    for queue in sorted(queues, key=lambda q: q.redrive is not None):
        redrive = None
        if queue.redrive is not None:
            target = created[queue.redrive.dead_letter_queue]
            redrive = pulumi.Output.json_dumps(
                {
                    "deadLetterTargetArn": target.arn,
                    "maxReceiveCount": queue.redrive.max_receive_count,
                }
            )
        created[queue.id] = aws.sqs.Queue(
            f"{name}-{queue.id}",
            name=queue.name,
            fifo_queue=queue.fifo or None,
            deduplication_scope="messageGroup" if queue.high_throughput else None,
            fifo_throughput_limit="perMessageGroupId" if queue.high_throughput else None,
            visibility_timeout_seconds=queue.visibility_timeout_s,
            message_retention_seconds=queue.retention_s,
            redrive_policy=redrive,
            kms_master_key_id=kms_key,
            sqs_managed_sse_enabled=None if kms_key is not None else True,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        values.provide(f"{queue.id}.name", created[queue.id].name)
        values.provide(f"{queue.id}.arn", created[queue.id].arn)
        values.provide(f"{queue.id}.url", created[queue.id].url)
    return created


def create_event_bus(
    name: str, bus: EventBusPlan, values: Values, *, parent: pulumi.Resource
) -> aws.cloudwatch.EventBus | None:
    """Create the service's bus, or refer to the existing one the plan names.

    Returns:
        The bus created, or ``None`` when the plan uses an existing bus.
    """
    if bus.existing:
        values.provide(f"{bus.id}.name", bus.name)
        values.provide(
            f"{bus.id}.arn",
            pulumi.Output.format(
                "arn:{0}:events:{1}:{2}:event-bus/{3}",
                values.get("aws.partition"),
                values.get("aws.region"),
                values.get("aws.account"),
                bus.name,
            ),
        )
        return None
    created = aws.cloudwatch.EventBus(
        f"{name}-{bus.id}", name=bus.name, opts=pulumi.ResourceOptions(parent=parent)
    )
    values.provide(f"{bus.id}.name", created.name)
    values.provide(f"{bus.id}.arn", created.arn)
    return created


def create_rules(
    name: str,
    rules: tuple[RulePlan, ...],
    queues: dict[str, aws.sqs.Queue],
    values: Values,
    *,
    parent: pulumi.Resource,
) -> dict[str, tuple[aws.cloudwatch.EventRule, aws.cloudwatch.EventTarget]]:
    """Create each subscription's rule with its pattern, targeting the subscription's queue.

    Returns:
        Each rule and its target, by plan id.
    """
    created: dict[str, tuple[aws.cloudwatch.EventRule, aws.cloudwatch.EventTarget]] = {}
    for rule in rules:
        opts = pulumi.ResourceOptions(parent=parent)
        bus_name = values.get(f"{rule.bus}.name")
        event_rule = aws.cloudwatch.EventRule(
            f"{name}-{rule.id}",
            name=rule.name,
            event_bus_name=bus_name,
            event_pattern=json.dumps(rule.pattern, sort_keys=True),
            description=f"events of subscription {rule.subscription}",
            opts=opts,
        )
        target = aws.cloudwatch.EventTarget(
            f"{name}-{rule.id}-target",
            rule=event_rule.name,
            event_bus_name=bus_name,
            arn=queues[rule.target].arn,
            opts=opts,
        )
        values.provide(f"{rule.id}.name", event_rule.name)
        values.provide(f"{rule.id}.arn", event_rule.arn)
        created[rule.id] = (event_rule, target)
    return created


def create_queue_policies(
    name: str,
    queues: tuple[QueuePlan, ...],
    created: dict[str, aws.sqs.Queue],
    values: Values,
    *,
    parent: pulumi.Resource,
) -> dict[str, aws.sqs.QueuePolicy]:
    """Let EventBridge send to each queue that lists senders, from those rules only.

    Returns:
        The queue policies, by the plan id of their queue.
    """
    policies: dict[str, aws.sqs.QueuePolicy] = {}
    for queue in queues:
        if not queue.senders:
            continue
        document = pulumi.Output.all(
            created[queue.id].arn, *(values.get(f"{s}.arn") for s in queue.senders)
        ).apply(
            lambda arns: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "EventBridgeRules",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": arns[0],
                            "Condition": {"ArnEquals": {"aws:SourceArn": list(arns[1:])}},
                        }
                    ],
                },
                sort_keys=True,
            )
        )
        policies[queue.id] = aws.sqs.QueuePolicy(
            f"{name}-{queue.id}-policy",
            queue_url=created[queue.id].url,
            policy=document,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return policies


def create_schedule_group(
    name: str, group: ScheduleGroupPlan, values: Values, *, parent: pulumi.Resource
) -> aws.scheduler.ScheduleGroup:
    """Create the Scheduler group that holds the service's schedules."""
    created = aws.scheduler.ScheduleGroup(
        f"{name}-{group.id}", name=group.name, opts=pulumi.ResourceOptions(parent=parent)
    )
    values.provide(f"{group.id}.name", created.name)
    values.provide(f"{group.id}.arn", created.arn)
    return created


def create_schedules(
    name: str,
    schedules: tuple[SchedulePlan, ...],
    values: Values,
    *,
    parent: pulumi.Resource,
) -> dict[str, aws.scheduler.Schedule]:
    """Create each scheduled workflow's recurring schedule in the service's group.

    Returns:
        The schedules, by plan id (``schedule.<workflow>``).
    """
    created: dict[str, aws.scheduler.Schedule] = {}
    for schedule in schedules:
        created[schedule.id] = aws.scheduler.Schedule(
            f"{name}-{schedule.id}",
            name=schedule.name,
            group_name=values.get(f"{schedule.group}.name"),
            description=f"runs workflow {schedule.workflow!r}",
            schedule_expression=schedule.expression,
            schedule_expression_timezone=schedule.timezone,
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(
                mode=schedule.flexible_time_window
            ),
            state=schedule.state,
            target=aws.scheduler.ScheduleTargetArgs(
                arn=values.get(f"{schedule.target}.arn"),
                role_arn=values.get(f"{schedule.role}.arn"),
                input=schedule.input,
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_event_age_in_seconds=schedule.retry.maximum_event_age_s,
                    maximum_retry_attempts=schedule.retry.maximum_retry_attempts,
                ),
                dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(
                    arn=values.get(f"{schedule.dead_letter_queue}.arn")
                ),
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        values.provide(f"{schedule.id}.name", created[schedule.id].name)
        values.provide(f"{schedule.id}.arn", created[schedule.id].arn)
    return created
