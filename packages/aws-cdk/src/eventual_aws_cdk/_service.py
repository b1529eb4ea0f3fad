"""``Service``: one eventual service in any CDK stack, rendered from its plan."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Final

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack, Stage, Token
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

import eventual
from eventual_aws import BundleOptions, FunctionPlan, ServicePlan, build_bundle, plan

from . import _monitoring, _nag, _resources
from ._options import FunctionOptions, retention

__all__ = ["Service"]

_EXTERNAL_BUS: Final = "external"
"""The plan's name for a bus given as a construct whose name is known only once deployed."""
_KMS_ACTIONS: Final = ("kms:Decrypt", "kms:GenerateDataKey")
_ARCHITECTURES: Final = {
    "arm64": lambda_.Architecture.ARM_64,
    "x86_64": lambda_.Architecture.X86_64,
}


class Service(Construct):
    """An eventual service on AWS serverless, created from its plan inside any stack.

    It creates exactly what :func:`eventual_aws.plan` lists: the table, bucket,
    queues and dead-letter queues, the event bus (unless one is given), one rule
    per subscription, the schedule group and scheduler role, one recurring schedule
    per scheduled workflow, the HTTP API and its
    routes, and one Lambda function per handler with its own role, log group and
    event source, plus CloudWatch alarms and a dashboard. Every construct stays
    reachable through an attribute, so anything can be changed after the fact.

    Example::

        orders = Service(stack, "Orders", service="orders.service", source_dir="services/orders")
        CfnOutput(stack, "Url", value=orders.api_url)

    Attributes:
        plan: The plan rendered (placeholders unresolved).
        api_url: The HTTP API's URL (a token).
        functions: Every function, by plan name (``orchestrator``, ``task-<task>``...).
        function_roles: Each function's role, by plan name.
        log_groups: Each function's log group, by plan name.
        event_bus: The bus events are published on.
        table: The DynamoDB table.
        bucket: The S3 bucket.
        queues: Every queue, by plan id (``queue.workflow``, ``queue.workflow-dlq``...).
        rules: Each subscription's rule, by plan id (``rule.<subscription>``).
        schedule_group: The EventBridge Scheduler group.
        scheduler_role: The role the service's schedules run as.
        schedules: Each scheduled workflow's recurring schedule, by plan id
            (``schedule.<workflow>``).
        http_api: The API Gateway HTTP API.
        code: The Lambda code, by architecture (one shared asset each).
        alarms: Alarms on each dead-letter queue's depth (by queue id) and on the
            orchestrator's errors (``function.orchestrator``); empty with
            ``monitoring=False``.
        dashboard: The service's CloudWatch dashboard, or ``None``.
        encryption_key: The customer-managed key, when one was given.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        service: str | ModuleType | eventual.Service,
        source_dir: str | os.PathLike[str],
        prefix: str | None = None,
        event_bus: events.IEventBus | None = None,
        shards: Mapping[str, int] | None = None,
        functions: Mapping[str, FunctionOptions] | None = None,
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy | None = None,
        log_retention: logs.RetentionDays | None = None,
        cors: apigwv2.CorsPreflightOptions | None = None,
        bundling: BundleOptions | None = None,
        code: lambda_.Code | None = None,
        monitoring: bool = True,
    ) -> None:
        """Plan the service and create its resources in ``scope``.

        Args:
            scope: Where the resources go (a Stack, or any construct in one).
            id: The construct's id.
            service: The service: a module path (``"orders.service"``), a module
                or an :class:`eventual.Service`.
            source_dir: The folder the service module imports from (its code at
                the root); it is put on ``sys.path`` to plan, and copied into the
                Lambda code with the dependencies of its ``requirements.txt`` or
                ``pyproject.toml``.
            prefix: Starts every physical name (default: the service's name);
                give each deployment in one account and region its own.
            event_bus: An existing bus to publish on and subscribe to (another
                service's ``event_bus``, or ``EventBus.from_event_bus_name``);
                by default the service creates its own.
            shards: Index shard counts, by setting (``timer_shards``,
                ``listing_shards``, ``task_shards``, ``inbox_shards``,
                ``outbox_shards``; 1 each by default), set on every function
                (``EVENTUAL_AWS_<SETTING>``):
                ``{"listing_shards": 4}`` spreads the listing indexes over four
                partitions (docs/aws.md, "Limits").
            functions: Overrides by plan function name (memory, timeout,
                reserved concurrency, environment, architecture).
            encryption_key: A customer-managed KMS key for the table, bucket,
                queues and log groups; the functions, EventBridge and CloudWatch
                Logs are allowed to use it.
            removal_policy: What happens to the table, bucket, queues and log
                groups when removed from the stack (default: CDK's, which keeps
                the table and bucket).
            log_retention: How long function logs are kept (default: the plan's).
            cors: CORS for the HTTP API.
            bundling: How the Lambda code is bundled (``eventual_aws.BundleOptions``,
                shared with the other renderers).
            code: Lambda code to use instead of bundling (built another way).
            monitoring: Create the alarms and the dashboard.

        Raises:
            eventual_aws.PlanError: The service cannot be deployed as it is, or
                ``shards`` names no shard setting or a count below 1.
            eventual_aws.BundleError: The Lambda code could not be bundled.
            KeyError: ``functions`` names a function the plan does not have.
        """
        super().__init__(scope, id)
        source = Path(source_dir).resolve()
        if str(source) not in sys.path:
            sys.path.insert(0, str(source))
        bus_name = None
        if event_bus is not None:
            name = event_bus.event_bus_name
            bus_name = _EXTERNAL_BUS if Token.is_unresolved(name) else name
        self.plan: ServicePlan = plan(service, prefix=prefix, event_bus=bus_name, shards=shards)
        overrides = dict(functions or {})
        for name in overrides:
            self.plan.function(name)
        self.encryption_key = encryption_key

        self.table: dynamodb.Table = _resources.table(
            self, self.plan.table, key=encryption_key, removal_policy=removal_policy
        )
        self.bucket: s3.Bucket = _resources.bucket(
            self, self.plan.bucket, key=encryption_key, removal_policy=removal_policy
        )
        self.queues: dict[str, sqs.Queue] = {}
        visibility = _visibility_overrides(self.plan, overrides)
        # Dead-letter queues come before the queues that redrive to them.
        for queue_plan in sorted(self.plan.queues, key=lambda q: q.redrive is not None):
            dead_letter = None
            if queue_plan.redrive is not None:
                dead_letter = self.queues[queue_plan.redrive.dead_letter_queue]
            self.queues[queue_plan.id] = _resources.queue(
                self,
                queue_plan,
                dead_letter=dead_letter,
                visibility_timeout_s=visibility.get(queue_plan.id, queue_plan.visibility_timeout_s),
                key=encryption_key,
                removal_policy=removal_policy,
            )
        self.event_bus: events.IEventBus
        if event_bus is not None:
            self.event_bus = event_bus
        elif self.plan.event_bus.existing:
            self.event_bus = events.EventBus.from_event_bus_name(
                self, self.plan.event_bus.id, self.plan.event_bus.name
            )
        else:
            self.event_bus = events.EventBus(
                self, self.plan.event_bus.id, event_bus_name=self.plan.event_bus.name
            )
        self.rules: dict[str, events.CfnRule] = {
            rule_plan.id: _resources.rule(
                self, rule_plan, bus=self.event_bus, target=self.queues[rule_plan.target]
            )
            for rule_plan in self.plan.rules
        }
        self.schedule_group = scheduler.ScheduleGroup(
            self,
            self.plan.schedule_group.id,
            schedule_group_name=self.plan.schedule_group.name,
            removal_policy=removal_policy,
        )
        (role_plan,) = self.plan.roles
        self.scheduler_role = iam.Role(
            self,
            role_plan.id,
            assumed_by=iam.ServicePrincipal(
                role_plan.service_principal,
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description=f"schedules of {self.plan.service} run as this role",
        )

        self.log_groups: dict[str, logs.LogGroup] = {}
        for log_plan in self.plan.log_groups:
            self.log_groups[log_plan.id] = logs.LogGroup(
                self,
                log_plan.id,
                log_group_name=log_plan.name,
                retention=log_retention or retention(log_plan.retention_days),
                encryption_key=encryption_key,
                removal_policy=removal_policy,
            )
        self.code: dict[str, lambda_.Code] = {}
        self.function_roles: dict[str, iam.Role] = {}
        self.functions: dict[str, lambda_.IFunction] = {}
        created: dict[str, lambda_.Function] = {}
        for function_plan in self.plan.functions:
            options = overrides.get(function_plan.name, FunctionOptions())
            architecture = options.architecture or _ARCHITECTURES[function_plan.architecture]
            function_code = code or self._bundled_code(
                function_plan, architecture, source, bundling or BundleOptions()
            )
            created[function_plan.name] = self._function(
                function_plan, options, architecture, function_code
            )
        self.functions.update(created)
        self.http_api = _resources.http_api(
            self, self.plan.http_api, functions=self.functions, cors=cors
        )
        self.api_url: str = self.http_api.api_endpoint

        values = self._reference_values()
        resolved = self.plan.resolve(values)
        for role_statement in _resources.policy_statements(resolved.roles[0].statements):
            self.scheduler_role.add_to_policy(role_statement)
        self.schedules: dict[str, scheduler.CfnSchedule] = {
            schedule_plan.id: _resources.schedule(
                self,
                schedule_plan,
                group=self.schedule_group,
                role=self.scheduler_role,
                target_arn=values[f"{schedule_plan.target}.arn"],
                dead_letter_queue=self.queues[schedule_plan.dead_letter_queue],
            )
            for schedule_plan in resolved.schedules
        }
        for function_plan in resolved.functions:
            function = created[function_plan.name]
            options = overrides.get(function_plan.name, FunctionOptions())
            for key, value in {**options.environment, **function_plan.environment}.items():
                function.add_environment(key, value)
            role = self.function_roles[function_plan.name]
            for statement in _resources.policy_statements(function_plan.statements):
                role.add_to_policy(statement)
        if encryption_key is not None:
            self._allow_key(encryption_key)
        for function_plan in self.plan.functions:
            for source_plan in function_plan.event_sources:
                lambda_.EventSourceMapping(
                    self,
                    f"{function_plan.id}.{source_plan.queue}",
                    target=created[function_plan.name],
                    event_source_arn=self.queues[source_plan.queue].queue_arn,
                    batch_size=source_plan.batch_size,
                    max_batching_window=(
                        Duration.seconds(source_plan.batching_window_s)
                        if source_plan.batching_window_s
                        else None
                    ),
                    report_batch_item_failures=source_plan.report_batch_item_failures,
                    max_concurrency=source_plan.maximum_concurrency,
                )

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.dashboard: cloudwatch.Dashboard | None = None
        if monitoring:
            self.alarms, self.dashboard = _monitoring.monitor(
                self, self.plan, queues=self.queues, functions=created
            )
        _nag.acknowledge(self)

    def _bundled_code(
        self,
        function: FunctionPlan,
        architecture: lambda_.Architecture,
        source: Path,
        options: BundleOptions,
    ) -> lambda_.Code:
        key = f"{function.runtime}/{architecture.name}"
        if key not in self.code:
            outdir = Stage.of(self)
            default_cache = Path(outdir.outdir if outdir else ".") / "eventual-bundles"
            bundle = build_bundle(
                source_dir=source,
                python_version=function.runtime.removeprefix("python"),
                architecture=architecture.name,
                options=options,
                default_cache=default_cache,
            )
            self.code[key] = lambda_.Code.from_asset(str(bundle.path))
        return self.code[key]

    def _function(
        self,
        function: FunctionPlan,
        options: FunctionOptions,
        architecture: lambda_.Architecture,
        code: lambda_.Code,
    ) -> lambda_.Function:
        role = iam.Role(
            self,
            f"role.{function.name}",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"function {function.physical_name}: only what the plan allows it",
        )
        self.function_roles[function.name] = role
        return lambda_.Function(
            self,
            function.id,
            function_name=function.physical_name,
            runtime=lambda_.Runtime(
                function.runtime, lambda_.RuntimeFamily.PYTHON, supports_inline_code=True
            ),
            handler=function.handler,
            code=code,
            architecture=architecture,
            memory_size=options.memory_mb or function.memory_mb,
            timeout=options.timeout or Duration.seconds(function.timeout_s),
            reserved_concurrent_executions=(
                options.reserved_concurrency
                if options.reserved_concurrency is not None
                else function.reserved_concurrency
            ),
            role=role,
            log_group=self.log_groups[function.log_group],
            logging_format=lambda_.LoggingFormat.JSON,
            description=f"eventual {self.plan.service}: {function.kind} {function.name}",
        )

    def _reference_values(self) -> dict[str, str]:
        """Return a CDK token for every placeholder the plan may hold."""
        values = {
            "aws.region": Aws.REGION,
            "aws.account": Aws.ACCOUNT_ID,
            "aws.partition": Aws.PARTITION,
            "table.name": self.table.table_name,
            "table.arn": self.table.table_arn,
            "bucket.name": self.bucket.bucket_name,
            "bucket.arn": self.bucket.bucket_arn,
            "bus.name": self.event_bus.event_bus_name,
            "bus.arn": self.event_bus.event_bus_arn,
            "schedule_group.name": self.schedule_group.schedule_group_name,
            "schedule_group.arn": self.schedule_group.schedule_group_arn,
            "api.id": self.http_api.api_id,
            "api.url": self.http_api.api_endpoint,
        }
        for queue_id, queue in self.queues.items():
            values[f"{queue_id}.name"] = queue.queue_name
            values[f"{queue_id}.arn"] = queue.queue_arn
            values[f"{queue_id}.url"] = queue.queue_url
        for rule_id, rule in self.rules.items():
            values[f"{rule_id}.name"] = rule.ref
            values[f"{rule_id}.arn"] = rule.attr_arn
        role_plan = self.plan.roles[0]
        values[f"{role_plan.id}.name"] = self.scheduler_role.role_name
        values[f"{role_plan.id}.arn"] = self.scheduler_role.role_arn
        for log_id, log_group in self.log_groups.items():
            values[f"{log_id}.name"] = log_group.log_group_name
            values[f"{log_id}.arn"] = log_group.log_group_arn
        stack = Stack.of(self)
        for function_plan in self.plan.functions:
            # Written from the plan's name, not taken from the function: a function
            # may name itself (the forwarder's ARN is in every function's
            # configuration), which CloudFormation would refuse as a cycle.
            values[f"{function_plan.id}.name"] = function_plan.physical_name
            values[f"{function_plan.id}.arn"] = stack.format_arn(
                service="lambda",
                resource="function",
                resource_name=function_plan.physical_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        return values

    def _allow_key(self, key: kms.IKey) -> None:
        # The plan's statements name resources, not their key: a customer-managed
        # key adds the right to use it to every role that reads or writes them.
        for role in [*self.function_roles.values(), self.scheduler_role]:
            role.add_to_policy(
                iam.PolicyStatement(actions=list(_KMS_ACTIONS), resources=[key.key_arn])
            )
        key.grant(iam.ServicePrincipal("events.amazonaws.com"), *_KMS_ACTIONS)
        key.grant_encrypt_decrypt(iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com"))

    def grant_invoke_system_api(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call the system API (``/_eventual/*``, IAM-authorised routes)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["execute-api:Invoke"],
            resource_arns=[self.http_api.arn_for_execute_api("*", "/_eventual/*", "*")],
        )

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` put events on the service's bus (what ``event.publish`` does)."""
        return self.event_bus.grant_put_events_to(grantee)


def _visibility_overrides(
    service_plan: ServicePlan, overrides: Mapping[str, FunctionOptions]
) -> dict[str, int]:
    """Raise a consumed queue's visibility timeout to the plan's rule for a longer timeout."""
    raised: dict[str, int] = {}
    for name, options in overrides.items():
        if options.timeout is None:
            continue
        for source in service_plan.function(name).event_sources:
            queue = service_plan.queue(source.queue)
            wanted = min(6 * int(options.timeout.to_seconds()) + source.batching_window_s, 43200)
            raised[queue.id] = max(queue.visibility_timeout_s, wanted)
    return raised
