"""Each kind of plan resource rendered as its CDK construct.

Every function here creates what one plan entry lists, with the settings the
plan gives, and returns the construct; :class:`~eventual_aws_cdk.Service`
keeps them all reachable. L2 constructs are used where they exist and add
nothing the plan does not list; an EventBridge rule is an L1 ``CfnRule``
because a plan's pattern (``$or``, any field) is richer than ``EventPattern``,
and a recurring schedule an L1 ``CfnSchedule`` because the plan gives its exact
expression, input, retry policy and dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from eventual_aws import (
    BucketPlan,
    HttpApiPlan,
    QueuePlan,
    RulePlan,
    SchedulePlan,
    StatementPlan,
    TablePlan,
)

__all__ = ["bucket", "http_api", "policy_statements", "queue", "rule", "schedule", "table"]

_HTTP_API_TIMEOUT_S = 30


def table(
    scope: Construct,
    plan: TablePlan,
    *,
    key: kms.IKey | None,
    removal_policy: RemovalPolicy | None,
) -> dynamodb.Table:
    """Create the table: on-demand, string keys, its indexes, TTL and point-in-time recovery."""
    created = dynamodb.Table(
        scope,
        plan.id,
        partition_key=dynamodb.Attribute(
            name=plan.partition_key, type=dynamodb.AttributeType.STRING
        ),
        sort_key=dynamodb.Attribute(name=plan.sort_key, type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        time_to_live_attribute=plan.ttl_attribute,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=plan.point_in_time_recovery
        ),
        encryption=(
            dynamodb.TableEncryption.CUSTOMER_MANAGED
            if key is not None
            else dynamodb.TableEncryption.AWS_MANAGED
        ),
        encryption_key=key,
        removal_policy=removal_policy,
    )
    for index in plan.indexes:
        created.add_global_secondary_index(
            index_name=index.name,
            partition_key=dynamodb.Attribute(
                name=index.partition_key, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
    return created


def bucket(
    scope: Construct,
    plan: BucketPlan,
    *,
    key: kms.IKey | None,
    removal_policy: RemovalPolicy | None,
) -> s3.Bucket:
    """Create the bucket: public access blocked, encrypted, TLS only, the plan's expirations."""
    return s3.Bucket(
        scope,
        plan.id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL if plan.block_public_access else None,
        encryption=s3.BucketEncryption.KMS if key is not None else s3.BucketEncryption.S3_MANAGED,
        encryption_key=key,
        bucket_key_enabled=True if key is not None else None,
        enforce_ssl=plan.enforce_ssl,
        versioned=plan.versioned,
        removal_policy=removal_policy,
        lifecycle_rules=[
            s3.LifecycleRule(
                id=expiration.id,
                prefix=expiration.prefix,
                expiration=Duration.days(expiration.days),
            )
            for expiration in plan.expirations
        ]
        or None,
    )


def queue(
    scope: Construct,
    plan: QueuePlan,
    *,
    dead_letter: sqs.IQueue | None,
    visibility_timeout_s: int,
    key: kms.IKey | None,
    removal_policy: RemovalPolicy | None,
) -> sqs.Queue:
    """Create a queue with the plan's name, type, timeouts and redrive; TLS only, encrypted."""
    redrive = None
    if plan.redrive is not None:
        assert dead_letter is not None
        redrive = sqs.DeadLetterQueue(
            queue=dead_letter, max_receive_count=plan.redrive.max_receive_count
        )
    created = sqs.Queue(
        scope,
        plan.id,
        queue_name=plan.name,
        fifo=True if plan.fifo else None,
        visibility_timeout=Duration.seconds(visibility_timeout_s),
        retention_period=Duration.seconds(plan.retention_s),
        dead_letter_queue=redrive,
        deduplication_scope=sqs.DeduplicationScope.MESSAGE_GROUP if plan.high_throughput else None,
        fifo_throughput_limit=(
            sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID if plan.high_throughput else None
        ),
        encryption=sqs.QueueEncryption.KMS if key is not None else sqs.QueueEncryption.SQS_MANAGED,
        encryption_master_key=key,
        enforce_ssl=True,
        removal_policy=removal_policy,
    )
    return created


def rule(
    scope: Construct, plan: RulePlan, *, bus: events.IEventBus, target: sqs.IQueue
) -> events.CfnRule:
    """Create a subscription's rule on the bus, sending matching events to its queue.

    The queue's policy lets EventBridge send to it for this rule only (the plan's
    ``senders``).
    """
    created = events.CfnRule(
        scope,
        plan.id,
        name=plan.name,
        description=f"events for subscription {plan.subscription!r}",
        event_bus_name=bus.event_bus_name,
        event_pattern=plan.pattern,
        state="ENABLED",
        targets=[events.CfnRule.TargetProperty(id="queue", arn=target.queue_arn)],
    )
    target.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["sqs:SendMessage"],
            resources=[target.queue_arn],
            conditions={"ArnEquals": {"aws:SourceArn": created.attr_arn}},
        )
    )
    return created


def schedule(
    scope: Construct,
    plan: SchedulePlan,
    *,
    group: scheduler.ScheduleGroup,
    role: iam.IRole,
    target_arn: str,
    dead_letter_queue: sqs.IQueue,
) -> scheduler.CfnSchedule:
    """Create a scheduled workflow's recurring schedule (an L1 ``CfnSchedule``)."""
    return scheduler.CfnSchedule(
        scope,
        plan.id,
        name=plan.name,
        group_name=group.schedule_group_name,
        description=f"runs workflow {plan.workflow!r}",
        schedule_expression=plan.expression,
        schedule_expression_timezone=plan.timezone,
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(
            mode=plan.flexible_time_window
        ),
        state=plan.state,
        target=scheduler.CfnSchedule.TargetProperty(
            arn=target_arn,
            role_arn=role.role_arn,
            input=plan.input,
            retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                maximum_event_age_in_seconds=plan.retry.maximum_event_age_s,
                maximum_retry_attempts=plan.retry.maximum_retry_attempts,
            ),
            dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                arn=dead_letter_queue.queue_arn
            ),
        ),
    )


def http_api(
    scope: Construct,
    plan: HttpApiPlan,
    *,
    functions: Mapping[str, lambda_.IFunction],
    cors: apigwv2.CorsPreflightOptions | None,
) -> apigwv2.HttpApi:
    """Create the HTTP API and its routes, each to the function the plan names.

    Routes the plan marks ``iam`` (the system API) accept only SigV4-signed
    requests; one integration per function serves all of its routes.
    """
    api = apigwv2.HttpApi(scope, plan.id, api_name=plan.name, cors_preflight=cors)
    by_function: dict[str, integrations.HttpLambdaIntegration] = {}
    iam_authorizer = authorizers.HttpIamAuthorizer()
    for route in plan.routes:
        integration = by_function.get(route.function)
        if integration is None:
            integration = integrations.HttpLambdaIntegration(
                f"integration.{route.function}",
                functions[route.function],
                payload_format_version=apigwv2.PayloadFormatVersion.custom(
                    plan.payload_format_version
                ),
                timeout=_integration_timeout(plan.integration_timeout_s),
            )
            by_function[route.function] = integration
        api.add_routes(
            path=route.path,
            methods=[apigwv2.HttpMethod[route.method]],
            integration=integration,
            authorizer=iam_authorizer if route.authorization == "iam" else None,
        )
    return api


def _integration_timeout(seconds: int) -> Duration | None:
    # API Gateway's own default for an HTTP API integration is its longest, 30 s,
    # which CDK's validation (at most 29 s) does not let one write out.
    return None if seconds >= _HTTP_API_TIMEOUT_S else Duration.seconds(seconds)


def policy_statements(statements: tuple[StatementPlan, ...]) -> list[iam.PolicyStatement]:
    """Turn resolved plan statements into IAM statements, one for one."""
    return [
        iam.PolicyStatement(actions=list(s.actions), resources=list(s.arns)) for s in statements
    ]
