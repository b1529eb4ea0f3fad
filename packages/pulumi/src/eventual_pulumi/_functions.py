"""Functions: their log groups, roles, Lambda functions and queue event sources."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import pulumi

from eventual_aws import FunctionPlan, LogGroupPlan, RolePlan, StatementPlan

from ._aws import aws
from ._options import FunctionOverrides
from ._values import Values

__all__ = [
    "Function",
    "create_function",
    "create_log_groups",
    "create_service_role",
    "provide_function_values",
]

_KMS_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def provide_function_values(functions: Sequence[FunctionPlan], values: Values) -> None:
    """Provide each function's name and ARN, from the name the plan fixes.

    A function's ARN follows from its name, so the forwarder's ARN can sit in
    every function's environment (its own included) without a dependency cycle.
    """
    for function in functions:
        values.provide(f"{function.id}.name", function.physical_name)
        values.provide(
            f"{function.id}.arn",
            pulumi.Output.format(
                "arn:{0}:lambda:{1}:{2}:function:{3}",
                values.get("aws.partition"),
                values.get("aws.region"),
                values.get("aws.account"),
                function.physical_name,
            ),
        )


def create_log_groups(
    name: str,
    log_groups: tuple[LogGroupPlan, ...],
    values: Values,
    *,
    kms_key: pulumi.Input[str] | None,
    parent: pulumi.Resource,
) -> dict[str, aws.cloudwatch.LogGroup]:
    """Create each function's log group, so that its retention is the plan's.

    Returns:
        The log groups by plan id.
    """
    created: dict[str, aws.cloudwatch.LogGroup] = {}
    for group in log_groups:
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-{group.id}",
            name=group.name,
            retention_in_days=group.retention_days,
            kms_key_id=kms_key,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        values.provide(f"{group.id}.name", log_group.name)
        # The plan's log group ARN covers its streams; Terraform's drops the ":*".
        values.provide(f"{group.id}.arn", log_group.arn.apply(lambda arn: f"{arn}:*"))
        created[group.id] = log_group
    return created


def _policy(
    values: Values, statements: Sequence[StatementPlan], kms_key: pulumi.Input[str] | None
) -> pulumi.Output[str]:
    plan_policy = values.policy([{"actions": s.actions, "arns": s.arns} for s in statements])
    if kms_key is None:
        return plan_policy

    def with_key(parts: Sequence[Any]) -> str:
        document = json.loads(parts[0])
        document["Statement"].append(
            {"Effect": "Allow", "Action": list(_KMS_ACTIONS), "Resource": [parts[1]]}
        )
        return json.dumps(document, sort_keys=True)

    return pulumi.Output.all(plan_policy, kms_key).apply(with_key)


def _assume(service_principal: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service_principal},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        sort_keys=True,
    )


def create_service_role(
    name: str,
    role: RolePlan,
    values: Values,
    *,
    kms_key: pulumi.Input[str] | None,
    parent: pulumi.Resource,
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """Create a role the plan lists for an AWS service (the scheduler's), with its statements."""
    opts = pulumi.ResourceOptions(parent=parent)
    created = aws.iam.Role(
        f"{name}-{role.id}", assume_role_policy=_assume(role.service_principal), opts=opts
    )
    values.provide(f"{role.id}.name", created.name)
    values.provide(f"{role.id}.arn", created.arn)
    policy = aws.iam.RolePolicy(
        f"{name}-{role.id}-policy",
        role=created.id,
        policy=_policy(values, role.statements, kms_key),
        opts=opts,
    )
    return created, policy


@attrs.frozen(kw_only=True)
class Function:
    """One function of the plan and the resources around it (each reachable).

    Attributes:
        function: The Lambda function.
        role: Its execution role.
        policy: The role's inline policy: the plan's statements.
        event_sources: Its SQS event source mappings, by queue plan id.
    """

    function: aws.lambda_.Function
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    event_sources: dict[str, aws.lambda_.EventSourceMapping]


def create_function(
    name: str,
    function: FunctionPlan,
    values: Values,
    *,
    code: pulumi.Archive,
    queues: Mapping[str, aws.sqs.Queue],
    log_group: aws.cloudwatch.LogGroup,
    overrides: FunctionOverrides | None,
    kms_key: pulumi.Input[str] | None,
    parent: pulumi.Resource,
) -> Function:
    """Create one function of the plan: role, Lambda function and event sources."""
    opts = pulumi.ResourceOptions(parent=parent)
    override = overrides or FunctionOverrides()
    role = aws.iam.Role(
        f"{name}-{function.id}-role",
        assume_role_policy=_assume("lambda.amazonaws.com"),
        description=f"{function.physical_name}: the plan's statements only",
        opts=opts,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-{function.id}-policy",
        role=role.id,
        policy=_policy(values, function.statements, kms_key),
        opts=opts,
    )
    environment: dict[str, pulumi.Input[str]] = {
        **values.fill_environment(function.environment),
        **override.environment,
    }
    reserved = (
        override.reserved_concurrency
        if override.reserved_concurrency is not None
        else function.reserved_concurrency
    )
    lambda_function = aws.lambda_.Function(
        f"{name}-{function.id}",
        name=function.physical_name,
        role=role.arn,
        handler=function.handler,
        runtime=function.runtime,
        architectures=[function.architecture],
        memory_size=override.memory_mb or function.memory_mb,
        timeout=function.timeout_s,
        code=code,
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
        reserved_concurrent_executions=reserved,
        kms_key_arn=kms_key,
        layers=list(override.layers) or None,
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(
            log_format="Text", log_group=log_group.name
        ),
        # The log group first, so Lambda never creates one without retention.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[log_group, policy]),
    )
    sources: dict[str, aws.lambda_.EventSourceMapping] = {}
    for source in function.event_sources:
        scaling = None
        if source.maximum_concurrency is not None:
            scaling = aws.lambda_.EventSourceMappingScalingConfigArgs(
                maximum_concurrency=source.maximum_concurrency
            )
        sources[source.queue] = aws.lambda_.EventSourceMapping(
            f"{name}-{function.id}-{source.queue}",
            event_source_arn=queues[source.queue].arn,
            function_name=lambda_function.arn,
            batch_size=source.batch_size,
            maximum_batching_window_in_seconds=source.batching_window_s or None,
            function_response_types=(
                ["ReportBatchItemFailures"] if source.report_batch_item_failures else None
            ),
            scaling_config=scaling,
            # Lambda checks the role may receive from the queue when the mapping is made.
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]),
        )
    return Function(function=lambda_function, role=role, policy=policy, event_sources=sources)
