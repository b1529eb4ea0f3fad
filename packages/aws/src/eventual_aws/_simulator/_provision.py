"""Creating a plan's resources with boto3 on an AWS endpoint (moto, LocalStack).

Every call is idempotent: a resource that exists already is reused (and its
settings brought to the plan's), so the simulator can start again on an
endpoint that kept the last run's state. Functions are not created in Lambda:
the simulator runs their handlers in its own process; their ARNs are the ones
Lambda would give them, because schedules and the configuration name them.
Log groups are left out (nothing writes to CloudWatch in-process).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import attrs
from botocore.exceptions import ClientError

from .._backend._backend import table_definition
from .._backend._clients import Clients
from .._plan import BucketPlan, QueuePlan, SchedulePlan, ServicePlan
from .._plan._references import PSEUDO_RESOURCE

__all__ = ["Provisioned", "provision"]


@attrs.frozen(kw_only=True)
class Provisioned:
    """What provisioning created: the values of the plan's placeholders, and the plan resolved.

    Attributes:
        values: Each placeholder's value by key (``queue.workflow.url``).
        plan: The plan with every placeholder filled in.
        account: The account the endpoint answers for.
    """

    values: Mapping[str, str]
    plan: ServicePlan
    account: str

    def queue_url(self, queue_id: str) -> str:
        """Return the URL of the queue with this plan id."""
        return self.values[f"{queue_id}.url"]

    def queue_arn(self, queue_id: str) -> str:
        """Return the ARN of the queue with this plan id."""
        return self.values[f"{queue_id}.arn"]


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def physical_names(plan: ServicePlan) -> tuple[str, str]:
    """Return the table's and the bucket's names, which the plan leaves to the renderer."""
    bucket = re.sub(r"[^a-z0-9-]", "-", plan.prefix.lower()).strip("-") or "eventual"
    return f"{plan.prefix}-table", f"{bucket[:50]}-payloads"


async def provision(
    clients: Clients, plan: ServicePlan, *, region: str, iam: Any, sts: Any
) -> Provisioned:
    """Create (or reuse) every resource of ``plan`` and return their names, URLs and ARNs.

    Args:
        clients: boto3 clients on the endpoint.
        plan: The service's plan.
        region: The region the endpoint serves.
        iam: An IAM client (the scheduler's role).
        sts: An STS client (which account the endpoint answers for).
    """
    identity = await clients.call(sts.get_caller_identity)
    account = str(identity["Account"])
    values: dict[str, str] = {
        f"{PSEUDO_RESOURCE}.region": region,
        f"{PSEUDO_RESOURCE}.account": account,
        f"{PSEUDO_RESOURCE}.partition": "aws",
    }
    table, bucket = physical_names(plan)
    await _table(clients, plan, table)
    values |= {
        "table.name": table,
        "table.arn": f"arn:aws:dynamodb:{region}:{account}:table/{table}",
    }
    await _bucket(clients, bucket, region, plan.bucket)
    values |= {"bucket.name": bucket, "bucket.arn": f"arn:aws:s3:::{bucket}"}
    # Dead-letter queues first: a queue's redrive policy names its dead-letter queue's ARN.
    ordered = sorted(plan.queues, key=lambda queue: queue.redrive is not None)
    for queue in ordered:
        url, arn = await _queue(clients, queue, values)
        values |= {f"{queue.id}.name": queue.name, f"{queue.id}.url": url, f"{queue.id}.arn": arn}
    bus = plan.event_bus
    bus_arn = await _event_bus(clients, bus.name, create=not bus.existing)
    values |= {"bus.name": bus.name, "bus.arn": bus_arn}
    for function in plan.functions:
        values |= {
            f"{function.id}.name": function.physical_name,
            f"{function.id}.arn": (
                f"arn:aws:lambda:{region}:{account}:function:{function.physical_name}"
            ),
        }
    for group in plan.log_groups:
        values |= {
            f"{group.id}.name": group.name,
            f"{group.id}.arn": f"arn:aws:logs:{region}:{account}:log-group:{group.name}:*",
        }
    for rule in plan.rules:
        arn = await _rule(clients, rule.name, bus.name, rule.pattern, values[f"{rule.target}.arn"])
        values |= {f"{rule.id}.name": rule.name, f"{rule.id}.arn": arn}
    group_name = plan.schedule_group.name
    values |= {
        "schedule_group.name": group_name,
        "schedule_group.arn": await _schedule_group(clients, group_name),
    }
    api = plan.http_api
    values |= {
        "api.id": api.name,
        "api.url": f"https://{api.name}.execute-api.{region}.localhost",
    }
    for role in plan.roles:
        name = f"{plan.prefix}-{role.id.rpartition('.')[2]}"[:64]
        arn = await _role(clients, iam, name, role.service_principal)
        values |= {f"{role.id}.name": name, f"{role.id}.arn": arn}
    resolved = plan.resolve(values)
    for role in resolved.roles:
        await _role_policy(clients, iam, values[f"{role.id}.name"], role.statements)
    for queue in resolved.queues:
        if queue.senders:
            await _queue_policy(
                clients,
                values[f"{queue.id}.url"],
                values[f"{queue.id}.arn"],
                [values[f"{sender}.arn"] for sender in queue.senders],
            )
    for schedule in resolved.schedules:
        arn = await _schedule(clients, schedule, group_name, values)
        values |= {f"{schedule.id}.name": schedule.name, f"{schedule.id}.arn": arn}
    return Provisioned(values=values, plan=resolved, account=account)


async def _table(clients: Clients, plan: ServicePlan, name: str) -> None:
    dynamodb = clients.dynamodb
    try:
        await clients.call(dynamodb.create_table, **table_definition(name))
    except ClientError as error:
        if _code(error) != "ResourceInUseException":
            raise
    waiter = dynamodb.get_waiter("table_exists")
    await clients.call(waiter.wait, TableName=name, WaiterConfig={"Delay": 1})
    if not await _ttl_enabled(clients, name):
        await clients.call(
            dynamodb.update_time_to_live,
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": plan.table.ttl_attribute},
        )
    if plan.table.point_in_time_recovery:
        await clients.call(
            dynamodb.update_continuous_backups,
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )


async def _ttl_enabled(clients: Clients, name: str) -> bool:
    answer = await clients.call(clients.dynamodb.describe_time_to_live, TableName=name)
    status = answer.get("TimeToLiveDescription", {}).get("TimeToLiveStatus")
    return status in ("ENABLED", "ENABLING")


async def _bucket(clients: Clients, name: str, region: str, bucket: BucketPlan) -> None:
    s3 = clients.s3
    options: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        options["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        await clients.call(s3.create_bucket, **options)
    except ClientError as error:
        if _code(error) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    await clients.call(
        s3.put_public_access_block,
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    await clients.call(
        s3.put_bucket_encryption,
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    if bucket.expirations:
        await clients.call(
            s3.put_bucket_lifecycle_configuration,
            Bucket=name,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": rule.id,
                        "Filter": {"Prefix": rule.prefix},
                        "Status": "Enabled",
                        "Expiration": {"Days": rule.days},
                    }
                    for rule in bucket.expirations
                ]
            },
        )


def _queue_attributes(queue: QueuePlan, values: Mapping[str, str]) -> dict[str, str]:
    attributes = {
        "VisibilityTimeout": str(queue.visibility_timeout_s),
        "MessageRetentionPeriod": str(queue.retention_s),
    }
    if queue.redrive is not None:
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": values[f"{queue.redrive.dead_letter_queue}.arn"],
                "maxReceiveCount": queue.redrive.max_receive_count,
            }
        )
    if queue.fifo and queue.high_throughput:
        attributes["DeduplicationScope"] = "messageGroup"
        attributes["FifoThroughputLimit"] = "perMessageGroupId"
    return attributes


async def _queue(clients: Clients, queue: QueuePlan, values: Mapping[str, str]) -> tuple[str, str]:
    sqs = clients.sqs
    attributes = _queue_attributes(queue, values)
    creation = dict(attributes)
    if queue.fifo:
        creation["FifoQueue"] = "true"
    try:
        answer = await clients.call(sqs.create_queue, QueueName=queue.name, Attributes=creation)
        url = answer["QueueUrl"]
    except ClientError as error:
        if _code(error) not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        # It exists with other settings (an earlier plan): bring them to this plan's.
        url = (await clients.call(sqs.get_queue_url, QueueName=queue.name))["QueueUrl"]
        await clients.call(sqs.set_queue_attributes, QueueUrl=url, Attributes=attributes)
    found = await clients.call(sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["QueueArn"])
    return url, found["Attributes"]["QueueArn"]


async def _queue_policy(clients: Clients, url: str, arn: str, rules: list[str]) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rules}},
            }
        ],
    }
    await clients.call(
        clients.sqs.set_queue_attributes, QueueUrl=url, Attributes={"Policy": json.dumps(policy)}
    )


async def _event_bus(clients: Clients, name: str, *, create: bool) -> str:
    events = clients.events
    if create and name != "default":
        try:
            await clients.call(events.create_event_bus, Name=name)
        except ClientError as error:
            if _code(error) != "ResourceAlreadyExistsException":
                raise
    answer = await clients.call(events.describe_event_bus, Name=name)
    return str(answer["Arn"])


async def _rule(
    clients: Clients, name: str, bus: str, pattern: Mapping[str, Any], queue_arn: str
) -> str:
    events = clients.events
    answer = await clients.call(
        events.put_rule, Name=name, EventBusName=bus, EventPattern=json.dumps(pattern)
    )
    await clients.call(
        events.put_targets,
        Rule=name,
        EventBusName=bus,
        Targets=[{"Id": "queue", "Arn": queue_arn}],
    )
    return str(answer["RuleArn"])


async def _schedule_group(clients: Clients, name: str) -> str:
    scheduler = clients.scheduler
    try:
        answer = await clients.call(scheduler.create_schedule_group, Name=name)
        return str(answer["ScheduleGroupArn"])
    except ClientError as error:
        if _code(error) != "ConflictException":
            raise
    found = await clients.call(scheduler.get_schedule_group, Name=name)
    return str(found["Arn"])


async def _schedule(
    clients: Clients, schedule: SchedulePlan, group: str, values: Mapping[str, str]
) -> str:
    """Create a recurring schedule, or bring an existing one to the plan's settings."""
    request: dict[str, Any] = {
        "Name": schedule.name,
        "GroupName": group,
        "ScheduleExpression": schedule.expression,
        "ScheduleExpressionTimezone": schedule.timezone,
        "FlexibleTimeWindow": {"Mode": schedule.flexible_time_window},
        "State": schedule.state,
        "Target": {
            "Arn": values[f"{schedule.target}.arn"],
            "RoleArn": values[f"{schedule.role}.arn"],
            "Input": schedule.input,
            "RetryPolicy": {
                "MaximumEventAgeInSeconds": schedule.retry.maximum_event_age_s,
                "MaximumRetryAttempts": schedule.retry.maximum_retry_attempts,
            },
            "DeadLetterConfig": {"Arn": values[f"{schedule.dead_letter_queue}.arn"]},
        },
    }
    scheduler = clients.scheduler
    try:
        answer = await clients.call(scheduler.create_schedule, **request)
    except ClientError as error:
        if _code(error) != "ConflictException":
            raise
        answer = await clients.call(scheduler.update_schedule, **request)
    return str(answer["ScheduleArn"])


async def _role(clients: Clients, iam: Any, name: str, principal: str) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}
        ],
    }
    try:
        answer = await clients.call(
            iam.create_role, RoleName=name, AssumeRolePolicyDocument=json.dumps(trust)
        )
    except ClientError as error:
        if _code(error) != "EntityAlreadyExists":
            raise
        answer = await clients.call(iam.get_role, RoleName=name)
    return str(answer["Role"]["Arn"])


async def _role_policy(clients: Clients, iam: Any, role: str, statements: Any) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": list(s.actions), "Resource": list(s.arns)}
            for s in statements
        ],
    }
    await clients.call(
        iam.put_role_policy,
        RoleName=role,
        PolicyName="eventual",
        PolicyDocument=json.dumps(document),
    )
