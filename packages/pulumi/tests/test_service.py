"""``Service`` renders the orders example's plan: one mocked program run, many checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pulumi
import pytest

from eventual_aws import BundleOptions, PlanError, ServicePlan
from eventual_pulumi import Service
from eventual_pulumi.testing import ACCOUNT, API_ENDPOINT, REGION, Recorder


def policy_statements(document: str) -> list[dict[str, Any]]:
    """Return the statements of an IAM policy document."""
    statements: list[dict[str, Any]] = json.loads(document)["Statement"]
    return statements


@attrs.frozen(kw_only=True)
class Rendered:
    """What one program run registered and resolved."""

    recorder: Recorder
    service: Service
    plan: ServicePlan
    outputs: dict[str, Any]

    def one(self, type_: str, **inputs: Any) -> Any:
        """Return the only resource of this type whose inputs include ``inputs``."""
        found = [
            r
            for r in self.recorder.of_type(type_)
            if all(r.inputs.get(k) == v for k, v in inputs.items())
        ]
        assert len(found) == 1, f"{len(found)} {type_} with {inputs}"
        return found[0]


@pytest.fixture(scope="module")
def rendered(bundle_dir: Path, orders_src: Path, run: Any) -> Rendered:
    """Render examples/orders once, with the archive built, and resolve its outputs."""
    holder: dict[str, Any] = {}

    def program() -> pulumi.Output[Any]:
        service = Service(
            "orders",
            service="orders.service",
            source_dir=orders_src,
            shards={"task_shards": 3, "outbox_shards": 2},
            bundling=BundleOptions(cache_dir=str(bundle_dir)),
        )
        holder["service"] = service
        urns = {
            "queue": service.queues["queue.workflow"].urn,
            "function": service.functions["api"].urn,
            "route": service.http_api.routes["POST /_rpc/place_order"].urn,
            "role": service.roles["orchestrator"].urn,
        }
        return pulumi.Output.all(api_url=service.api_url, urns=urns).apply(
            lambda values: holder.setdefault("outputs", values)
        )

    recorder = run(program)
    service = holder["service"]
    return Rendered(
        recorder=recorder, service=service, plan=service.plan, outputs=holder["outputs"]
    )


def test_api_url_is_the_http_api_endpoint(rendered: Rendered) -> None:
    """api_url resolves to the HTTP API's endpoint."""
    assert rendered.outputs["api_url"] == API_ENDPOINT


def test_children_are_parented_to_the_component(rendered: Rendered) -> None:
    """Queues, functions, routes and roles sit under the component in the resource tree."""
    for urn in rendered.outputs["urns"].values():
        assert "eventual:aws:Service$" in urn


def test_no_placeholder_is_left_in_any_property(rendered: Rendered) -> None:
    """Every ${...} placeholder of the plan is filled in every resource's properties."""
    for resource in rendered.recorder.resources:
        text = json.dumps(resource.inputs, default=str)
        assert "${" not in text, f"{resource.type} {resource.name}: {text}"


def test_every_plan_function_exists_with_the_plans_properties(rendered: Rendered) -> None:
    """Each plan function is a Lambda function with its name, handler, size, runtime and code."""
    functions = rendered.recorder.of_type("aws:lambda/function:Function")
    assert len(functions) == len(rendered.plan.functions)
    bundle = rendered.service.bundle
    assert bundle is not None
    for function in rendered.plan.functions:
        created = rendered.one("aws:lambda/function:Function", name=function.physical_name)
        assert created.inputs["handler"] == function.handler
        assert created.inputs["runtime"] == function.runtime
        assert created.inputs["architectures"] == [function.architecture]
        assert created.inputs["memorySize"] == function.memory_mb
        assert created.inputs["timeout"] == function.timeout_s
        assert created.inputs["code"].path == str(bundle.path)
        assert set(created.inputs["environment"]["variables"]) == set(function.environment)
        if function.reserved_concurrency is not None:
            assert created.inputs["reservedConcurrentExecutions"] == function.reserved_concurrency


def test_environment_names_the_created_resources(rendered: Rendered) -> None:
    """Functions are told the real queue URL, table name and forwarder ARN."""
    orchestrator = rendered.one("aws:lambda/function:Function", name="orders-orchestrator")
    variables = orchestrator.inputs["environment"]["variables"]
    queue_url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/orders-workflow.fifo"
    assert variables["EVENTUAL_AWS_WORKFLOW_QUEUE_URL"] == queue_url
    assert variables["EVENTUAL_AWS_TABLE"] == "orders-table"
    assert variables["EVENTUAL_AWS_FORWARDER_ARN"] == (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-forwarder"
    )
    assert variables["EVENTUAL_BACKEND"] == "aws"


def test_shard_counts_given_are_set_on_every_function(rendered: Rendered) -> None:
    """``shards=`` puts each count given on every function, and no count not given."""
    functions = rendered.recorder.of_type("aws:lambda/function:Function")
    assert len(functions) == len(rendered.plan.functions)
    for function in functions:
        variables = function.inputs["environment"]["variables"]
        assert variables["EVENTUAL_AWS_TASK_SHARDS"] == "3"
        assert variables["EVENTUAL_AWS_OUTBOX_SHARDS"] == "2"
        assert "EVENTUAL_AWS_LISTING_SHARDS" not in variables


def test_a_shard_setting_the_plan_does_not_know_is_refused(run: Any) -> None:
    """A misspelt shard setting fails with the plan's error, naming it and the right ones."""

    def program() -> None:
        Service(
            "orders",
            service="orders.service",
            source_dir=".",
            shards={"tasks_shards": 2},
            code=pulumi.AssetArchive({}),
        )

    with pytest.raises(PlanError, match=r"'tasks_shards'.*task_shards"):
        run(program)


def test_every_queue_exists_with_its_dead_letter_queue(rendered: Rendered) -> None:
    """Each plan queue has its name, type, timeouts, retention and redrive to its dead letters."""
    assert len(rendered.recorder.of_type("aws:sqs/queue:Queue")) == len(rendered.plan.queues)
    for queue in rendered.plan.queues:
        created = rendered.one("aws:sqs/queue:Queue", name=queue.name)
        assert bool(created.inputs.get("fifoQueue")) == queue.fifo
        assert created.inputs["visibilityTimeoutSeconds"] == queue.visibility_timeout_s
        assert created.inputs["messageRetentionSeconds"] == queue.retention_s
        if queue.redrive is None:
            assert "redrivePolicy" not in created.inputs
            continue
        redrive = json.loads(created.inputs["redrivePolicy"])
        dead_letters = rendered.plan.queue(queue.redrive.dead_letter_queue).name
        assert redrive["deadLetterTargetArn"].endswith(f":{dead_letters}")
        assert redrive["maxReceiveCount"] == queue.redrive.max_receive_count


def test_every_rule_exists_with_its_pattern_and_target(rendered: Rendered) -> None:
    """Each subscription's rule has the plan's pattern, listens on the bus and feeds its queue."""
    assert rendered.plan.rules
    for rule in rendered.plan.rules:
        created = rendered.one("aws:cloudwatch/eventRule:EventRule", name=rule.name)
        assert json.loads(created.inputs["eventPattern"]) == rule.pattern
        assert created.inputs["eventBusName"] == rendered.plan.event_bus.name
        target = rendered.one("aws:cloudwatch/eventTarget:EventTarget", rule=rule.name)
        assert target.inputs["arn"].endswith(":" + rendered.plan.queue(rule.target).name)


def test_rule_queues_accept_events_from_their_rules_only(rendered: Rendered) -> None:
    """A subscription queue's policy lets EventBridge send, conditioned on its rule's ARN."""
    for queue in (q for q in rendered.plan.queues if q.senders):
        url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{queue.name}"
        policy = rendered.one("aws:sqs/queuePolicy:QueuePolicy", queueUrl=url)
        (statement,) = policy_statements(policy.inputs["policy"])
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
        names = [rendered.plan.resource(s).name for s in queue.senders]  # type: ignore[union-attr]
        assert [s.rsplit(":", 1)[1] for s in sources] == names


def test_every_route_exists_and_system_routes_need_iam(rendered: Rendered) -> None:
    """Each plan route exists with its key; the system API's routes require SigV4 (AWS_IAM)."""
    routes = rendered.recorder.of_type("aws:apigatewayv2/route:Route")
    assert len(routes) == len(rendered.plan.http_api.routes)
    for route in rendered.plan.http_api.routes:
        created = rendered.one("aws:apigatewayv2/route:Route", routeKey=route.key)
        expected = "AWS_IAM" if route.authorization == "iam" else "NONE"
        assert created.inputs["authorizationType"] == expected
        assert created.inputs["target"].startswith("integrations/")
    system = rendered.one("aws:apigatewayv2/route:Route", routeKey="ANY /_eventual/{proxy+}")
    assert system.inputs["authorizationType"] == "AWS_IAM"
    integration = rendered.one("aws:apigatewayv2/integration:Integration")
    assert integration.inputs["payloadFormatVersion"] == "2.0"
    assert integration.inputs["integrationType"] == "AWS_PROXY"


def test_every_role_holds_exactly_the_plans_statements(rendered: Rendered) -> None:
    """Each function role's policy lists the plan's actions on the plan's resources, filled."""
    for function in rendered.plan.functions:
        policy = rendered.one("aws:iam/rolePolicy:RolePolicy", role=f"orders-{function.id}-role-id")
        statements = policy_statements(policy.inputs["policy"])
        assert [sorted(s["Action"]) for s in statements] == [
            sorted(s.actions) for s in function.statements
        ]
        for statement, planned in zip(statements, function.statements, strict=True):
            assert len(statement["Resource"]) == len(planned.arns)


def test_no_allow_statement_uses_a_wildcard_action(rendered: Rendered) -> None:
    """No policy the service creates allows a `*` action."""
    documents = [r.inputs["policy"] for r in rendered.recorder.resources if "policy" in r.inputs]
    documents += [
        r.inputs["assumeRolePolicy"] for r in rendered.recorder.of_type("aws:iam/role:Role")
    ]
    assert documents
    for document in documents:
        for statement in policy_statements(document):
            if statement["Effect"] != "Allow":
                continue
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                assert "*" not in action, document


def test_the_scheduler_role_invokes_the_forwarder(rendered: Rendered) -> None:
    """Schedules run as a role EventBridge Scheduler assumes, allowed to invoke the forwarder."""
    (plan_role,) = rendered.plan.roles
    role = next(
        r
        for r in rendered.recorder.of_type("aws:iam/role:Role")
        if plan_role.service_principal in r.inputs["assumeRolePolicy"]
    )
    policy = rendered.one("aws:iam/rolePolicy:RolePolicy", role=f"{role.name}-id")
    statements = policy_statements(policy.inputs["policy"])
    forwarder = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-forwarder"
    assert {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [forwarder]} in (
        statements
    )


def test_event_sources_have_the_plans_batching(rendered: Rendered) -> None:
    """Each queue consumer reads with the plan's batch size and reports partial batch failures."""
    mappings = rendered.recorder.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    sources = [(f, s) for f in rendered.plan.functions for s in f.event_sources]
    assert len(mappings) == len(sources)
    for function, source in sources:
        queue = rendered.plan.queue(source.queue).name
        created = next(m for m in mappings if m.inputs["eventSourceArn"].endswith(f":{queue}"))
        assert created.inputs["functionName"].endswith(f":{function.physical_name}")
        assert created.inputs["batchSize"] == source.batch_size
        reports = created.inputs.get("functionResponseTypes") == ["ReportBatchItemFailures"]
        assert reports == source.report_batch_item_failures


def test_table_has_its_indexes_ttl_and_recovery(rendered: Rendered) -> None:
    """The table has the plan's keys, global secondary indexes, TTL and point-in-time recovery."""
    table = rendered.one("aws:dynamodb/table:Table")
    plan_table = rendered.plan.table
    assert (table.inputs["hashKey"], table.inputs["rangeKey"]) == ("pk", "sk")
    indexes = {i["name"]: i for i in table.inputs["globalSecondaryIndexes"]}
    assert set(indexes) == {i.name for i in plan_table.indexes}
    for index in plan_table.indexes:
        keys = [(k["attributeName"], k["keyType"]) for k in indexes[index.name]["keySchemas"]]
        assert keys == [(index.partition_key, "HASH"), (index.sort_key, "RANGE")]
    assert table.inputs["ttl"] == {"attributeName": plan_table.ttl_attribute, "enabled": True}
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}


def test_bucket_blocks_public_access_and_insecure_transport(rendered: Rendered) -> None:
    """The bucket, named after the prefix, blocks public access and refuses plain HTTP."""
    assert rendered.one("aws:s3/bucket:Bucket").inputs["bucketPrefix"] == "orders-"
    block = rendered.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy"))
    policy = rendered.one("aws:s3/bucketPolicy:BucketPolicy")
    (deny,) = policy_statements(policy.inputs["policy"])
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_bucket_expires_what_the_plan_says(rendered: Rendered) -> None:
    """Each of the plan's expirations is a lifecycle rule on the bucket, by prefix and days."""
    expirations = rendered.plan.bucket.expirations
    assert expirations
    lifecycle = rendered.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    rules = {
        r["id"]: (r["filter"]["prefix"], r["expiration"]["days"], r["status"])
        for r in lifecycle.inputs["rules"]
    }
    assert rules == {e.id: (e.prefix, e.days, "Enabled") for e in expirations}


def test_bus_schedule_group_and_log_groups_exist(rendered: Rendered) -> None:
    """The service's bus, its schedule group and one log group per function are created."""
    rendered.one("aws:cloudwatch/eventBus:EventBus", name=rendered.plan.event_bus.name)
    rendered.one(
        "aws:scheduler/scheduleGroup:ScheduleGroup", name=rendered.plan.schedule_group.name
    )
    for group in rendered.plan.log_groups:
        created = rendered.one("aws:cloudwatch/logGroup:LogGroup", name=group.name)
        assert created.inputs["retentionInDays"] == group.retention_days


def test_the_nightly_restock_is_a_schedule_in_new_york_time(rendered: Rendered) -> None:
    """The orders example's one scheduled workflow is a schedule at 01:00 in America/New_York."""
    schedules = rendered.recorder.of_type("aws:scheduler/schedule:Schedule")
    assert [
        (s.inputs["scheduleExpression"], s.inputs["scheduleExpressionTimezone"]) for s in schedules
    ] == [("cron(0 1 * * ? *)", "America/New_York")]
    assert schedules[0].inputs["groupName"] == rendered.plan.schedule_group.name
    assert list(rendered.service.schedules) == ["schedule.nightly_restock"]


def test_the_archive_holds_the_runtime_and_no_deploy_tools(rendered: Rendered) -> None:
    """The functions' archive holds eventual-aws and no pulumi, CDK, click or uvicorn."""
    bundle = rendered.service.bundle
    assert bundle is not None
    assert "eventual-aws" in bundle.distributions
    for tool in ("pulumi", "pulumi-aws", "aws-cdk-lib", "click", "uvicorn", "eventual-cli"):
        assert tool not in bundle.distributions
