"""``Service``: a Pulumi component creating exactly what a service's AWS plan lists."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import pulumi

from eventual import Service as EventualService
from eventual_aws import Bundle, BundleError, BundleOptions, ServicePlan, build_bundle, plan

from ._aws import aws
from ._functions import (
    Function,
    create_function,
    create_log_groups,
    create_service_role,
    provide_function_values,
)
from ._http import HttpApi, create_http_api
from ._messaging import (
    create_event_bus,
    create_queue_policies,
    create_queues,
    create_rules,
    create_schedule_group,
    create_schedules,
)
from ._options import FunctionOverrides
from ._storage import Bucket, create_bucket, create_table
from ._values import Values

__all__ = ["Service"]

RESOURCE_TYPE = "eventual:aws:Service"


class Service(pulumi.ComponentResource):
    """An eventual service on AWS: every resource of its plan, wired, as one component.

    It plans the service (``eventual_aws.plan``), bundles the code of all its
    functions once (``eventual_aws.build_bundle``, the bundler every renderer
    shares, no Docker) unless ``code`` is given, and creates the table, bucket,
    queues with their dead-letter queues, event bus, rules, schedule group,
    recurring schedules, roles, log groups, functions, event source mappings and HTTP API the plan
    lists, every placeholder filled with the
    output of the resource it names. Every child is parented to the component.

    Attributes:
        plan: The plan rendered.
        bundle: The code bundled, or ``None`` when ``code`` was given.
        api_url: The HTTP API's URL.
        table: The DynamoDB table.
        bucket: The S3 bucket and its configuration.
        queues: Every queue, by plan id (``queue.workflow``, ``queue.workflow-dlq``).
        event_bus: The bus created, or ``None`` on an existing bus.
        event_bus_name: The bus's name.
        event_bus_arn: The bus's ARN.
        rules: Each subscription's rule, by plan id (``rule.audit``).
        rule_targets: Each rule's target, by the rule's plan id.
        queue_policies: Queue policies letting rules send, by queue plan id.
        schedule_group: The Scheduler group.
        scheduler_role: The role schedules run as.
        schedules: Each scheduled workflow's recurring schedule, by plan id
            (``schedule.<workflow>``).
        log_groups: Each function's log group, by plan id (``log_group.api``).
        functions: Each Lambda function, by plan name (``task-reserve_stock``).
        roles: Each function's role, by plan name.
        event_sources: Each function's event source mappings by queue plan id,
            by plan name.
        http_api: The HTTP API, its stage, integrations, routes and permissions.
    """

    plan: ServicePlan
    bundle: Bundle | None
    api_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        service: str | ModuleType | EventualService,
        source_dir: str | os.PathLike[str],
        opts: pulumi.ResourceOptions | None = None,
        prefix: str | None = None,
        event_bus: str | None = None,
        shards: Mapping[str, int] | None = None,
        overrides: Mapping[str, FunctionOverrides] | None = None,
        kms_key: pulumi.Input[str] | None = None,
        code: pulumi.Archive | None = None,
        bundling: BundleOptions | None = None,
    ) -> None:
        """Plan ``service`` and create everything its plan lists.

        Args:
            name: The component's name; children are named ``<name>-<plan id>``.
            service: A dotted module path (``"orders.service"``), a module or an
                ``eventual.Service``.
            source_dir: The folder the service module imports from (its code at
                the root; its dependencies from a ``pyproject.toml`` or
                ``requirements.txt`` there). A module path is imported from it.
            opts: Pulumi resource options for the component (a provider,
                ``depends_on``, ...).
            prefix: Starts every physical name the plan fixes; defaults to the
                service's name. Give each stack in one account and region its own
                (``f"orders-{pulumi.get_stack()}"``).
            event_bus: The name of an existing EventBridge bus (shared by
                services, or ``"default"``) instead of a bus of the service's own.
            shards: Index shard counts, by setting (``timer_shards``,
                ``listing_shards``, ``task_shards``, ``inbox_shards``,
                ``outbox_shards``; 1 each by default), set on every function
                (``EVENTUAL_AWS_<SETTING>``):
                ``{"listing_shards": 4}`` spreads the listing indexes over four
                partitions (docs/aws.md, "Limits").
            overrides: Changes to functions, by plan name
                (``{"task-reserve_stock": FunctionOverrides(memory_mb=1024)}``).
            kms_key: The ARN of a KMS key encrypting the table, bucket, queues,
                log groups and functions' environment; every role may use it.
                Its key policy must let CloudWatch Logs and EventBridge use it.
            code: The archive every function runs, instead of bundling one.
            bundling: How the code is bundled (``eventual_aws.BundleOptions``:
                boto3 bundled or taken from Lambda's runtime, offline, an
                index, more requirements, the cache folder, by default
                ``.eventual/bundles`` in the current directory).

        Raises:
            eventual_aws.PlanError: The service cannot be deployed as it is, or
                ``shards`` names no shard setting or a count below 1.
            eventual_aws.BundleError: The code cannot be bundled, or the plan's
                functions disagree on runtime or architecture.
            ValueError: ``overrides`` names a function the plan does not have.
        """
        super().__init__(RESOURCE_TYPE, name, None, opts)
        source = Path(source_dir).resolve()
        if isinstance(service, str) and str(source) not in sys.path:
            # The plan imports the service to read its definitions, as the handlers will.
            sys.path.insert(0, str(source))
        self.plan = plan(service, prefix=prefix, event_bus=event_bus, shards=shards)
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - {f.name for f in self.plan.functions})
        if unknown:
            known = ", ".join(f.name for f in self.plan.functions)
            raise ValueError(
                f"overrides name functions the plan of {self.plan.service!r} does not have: "
                f"{', '.join(unknown)}; it has {known}"
            )
        self.bundle = None
        if code is None:
            self.bundle = _bundle(self.plan, source, bundling)
            code = pulumi.FileArchive(str(self.bundle.path))
        self._create(name, code, overrides, kms_key)
        self.register_outputs(
            {
                "api_url": self.api_url,
                "event_bus_name": self.event_bus_name,
                "table_name": self.table.name,
                "bucket_name": self.bucket.bucket.bucket,
                "function_names": {n: f.name for n, f in self.functions.items()},
            }
        )

    def _create(
        self,
        name: str,
        code: pulumi.Archive,
        overrides: Mapping[str, FunctionOverrides],
        kms_key: pulumi.Input[str] | None,
    ) -> None:
        p = self.plan
        values = Values(p)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        values.provide("aws.partition", aws.get_partition_output(opts=invoke).partition)
        values.provide("aws.region", aws.get_region_output(opts=invoke).region)
        values.provide("aws.account", aws.get_caller_identity_output(opts=invoke).account_id)

        self.table = create_table(name, p.table, kms_key=kms_key, parent=self)
        values.provide(f"{p.table.id}.name", self.table.name)
        values.provide(f"{p.table.id}.arn", self.table.arn)
        self.bucket = create_bucket(name, p.bucket, prefix=p.prefix, kms_key=kms_key, parent=self)
        values.provide(f"{p.bucket.id}.name", self.bucket.bucket.bucket)
        values.provide(f"{p.bucket.id}.arn", self.bucket.bucket.arn)

        self.queues = create_queues(name, p.queues, values, kms_key=kms_key, parent=self)
        self.event_bus = create_event_bus(name, p.event_bus, values, parent=self)
        self.event_bus_name = values.get(f"{p.event_bus.id}.name")
        self.event_bus_arn = values.get(f"{p.event_bus.id}.arn")
        rules = create_rules(name, p.rules, self.queues, values, parent=self)
        self.rules = {rule_id: pair[0] for rule_id, pair in rules.items()}
        self.rule_targets = {rule_id: pair[1] for rule_id, pair in rules.items()}
        self.queue_policies = create_queue_policies(
            name, p.queues, self.queues, values, parent=self
        )
        self.schedule_group = create_schedule_group(name, p.schedule_group, values, parent=self)

        provide_function_values(p.functions, values)
        self.log_groups = create_log_groups(
            name, p.log_groups, values, kms_key=kms_key, parent=self
        )
        service_roles = {
            role.id: create_service_role(name, role, values, kms_key=kms_key, parent=self)
            for role in p.roles
        }
        self.scheduler_role = service_roles["role.scheduler"][0]

        created: dict[str, Function] = {}
        for function in p.functions:
            created[function.name] = create_function(
                name,
                function,
                values,
                code=code,
                queues=self.queues,
                log_group=self.log_groups[function.log_group],
                overrides=overrides.get(function.name),
                kms_key=kms_key,
                parent=self,
            )
        self.functions = {n: f.function for n, f in created.items()}
        self.schedules = create_schedules(name, p.schedules, values, parent=self)
        self.roles = {n: f.role for n, f in created.items()}
        self.event_sources = {n: f.event_sources for n, f in created.items()}

        self.http_api: HttpApi = create_http_api(
            name, p.http_api, self.functions, values, parent=self
        )
        self.api_url = self.http_api.api.api_endpoint

    # Annotations of what _create sets, for readers and type checkers.
    table: aws.dynamodb.Table
    bucket: Bucket
    queues: dict[str, aws.sqs.Queue]
    event_bus: aws.cloudwatch.EventBus | None
    event_bus_name: pulumi.Output[str]
    event_bus_arn: pulumi.Output[str]
    rules: dict[str, aws.cloudwatch.EventRule]
    rule_targets: dict[str, aws.cloudwatch.EventTarget]
    queue_policies: dict[str, aws.sqs.QueuePolicy]
    schedule_group: aws.scheduler.ScheduleGroup
    scheduler_role: aws.iam.Role
    schedules: dict[str, aws.scheduler.Schedule]
    log_groups: dict[str, aws.cloudwatch.LogGroup]
    functions: dict[str, aws.lambda_.Function]
    roles: dict[str, aws.iam.Role]
    event_sources: dict[str, dict[str, aws.lambda_.EventSourceMapping]]


def _bundle(service_plan: ServicePlan, source: Path, options: BundleOptions | None) -> Bundle:
    targets = {(f.runtime, f.architecture) for f in service_plan.functions}
    if len(targets) != 1:
        raise BundleError(
            f"the functions of {service_plan.service!r} run on {sorted(targets)}; the component "
            "bundles one code folder for one runtime and architecture"
        )
    ((runtime, architecture),) = targets
    return build_bundle(
        source_dir=source,
        python_version=runtime.removeprefix("python"),
        architecture=architecture,
        options=options,
    )
