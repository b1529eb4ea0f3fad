"""The orders example rendered by ``Service``: every plan entry, wired, least privilege, linted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from eventual_aws import ServicePlan
from eventual_aws_cdk import BundleOptions, Service

Resources = dict[str, dict[str, Any]]


class Synthesized(NamedTuple):
    """The orders service, its template, the output folder, and the scheduled service."""

    service: Service
    template: Template
    outdir: Path
    reports: tuple[Service, Template]


# cfn-lint's console script, run with this interpreter (it has no ``__main__``).
_CFN_LINT = "import sys; from cfnlint.runner import main; sys.exit(main())"


@pytest.fixture(scope="module")
def synthesized(
    tmp_path_factory: pytest.TempPathFactory,
    bundle_cache: Path,
    orders_src: Path,
    services_dir: Path,
) -> Synthesized:
    """Synthesize the orders service once, with cdk-nag's AwsSolutions pack checking it."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(outdir=str(outdir))
    stack = Stack(app, "Shop")
    service = Service(
        stack,
        "Orders",
        service="orders.service",
        source_dir=orders_src,
        bundling=BundleOptions(offline=True, cache_dir=str(bundle_cache)),
    )
    # A second service whose workflows are scheduled, in a stack of its own so that the
    # orders template stays the orders plan's; checked by cdk-nag and cfn-lint too.
    # Its indexes are sharded.
    reports_stack = Stack(app, "Reports")
    reports = Service(
        reports_stack,
        "Reports",
        service="reports.service",
        source_dir=services_dir,
        shards={"listing_shards": 4, "timer_shards": 2, "outbox_shards": 4},
        code=lambda_.Code.from_inline("def handler(event, context): ..."),
        monitoring=False,
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises when a cdk-nag finding is not acknowledged
    return Synthesized(
        service, Template.from_stack(stack), outdir, (reports, Template.from_stack(reports_stack))
    )


@pytest.fixture(scope="module")
def reports(synthesized: Synthesized) -> tuple[Service, Template]:
    """The scheduled service synthesized beside orders."""
    return synthesized.reports


@pytest.fixture(scope="module")
def plan(synthesized: Synthesized) -> ServicePlan:
    return synthesized[0].plan


@pytest.fixture(scope="module")
def template(synthesized: Synthesized) -> Template:
    return synthesized[1]


def _of_type(template: Template, kind: str) -> Resources:
    return {k: dict(v) for k, v in template.find_resources(kind).items()}


def _by_property(template: Template, kind: str, key: str) -> dict[str, dict[str, Any]]:
    return {r["Properties"][key]: r["Properties"] for r in _of_type(template, kind).values()}


def test_every_plan_function_is_a_lambda_with_the_plans_settings(
    plan: ServicePlan, template: Template
) -> None:
    """Each plan function exists once, named, sized and configured as the plan says."""
    functions = _by_property(template, "AWS::Lambda::Function", "FunctionName")
    assert set(functions) == {f.physical_name for f in plan.functions}
    for function in plan.functions:
        props = functions[function.physical_name]
        assert props["Handler"] == function.handler
        assert props["Runtime"] == function.runtime
        assert props["MemorySize"] == function.memory_mb
        assert props["Timeout"] == function.timeout_s
        assert props["Architectures"] == [function.architecture]
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert set(props["Environment"]["Variables"]) == set(function.environment)
        assert props["Environment"]["Variables"]["EVENTUAL_SERVICE"] == "orders.service"


def test_shard_counts_given_are_set_on_every_function(
    reports: tuple[Service, Template], template: Template
) -> None:
    """``shards=`` puts each count given on every function; without it none is set."""
    service, sharded = reports
    functions = _by_property(sharded, "AWS::Lambda::Function", "FunctionName")
    assert set(functions) == {f.physical_name for f in service.plan.functions}
    for props in functions.values():
        variables = props["Environment"]["Variables"]
        assert variables["EVENTUAL_AWS_LISTING_SHARDS"] == "4"
        assert variables["EVENTUAL_AWS_TIMER_SHARDS"] == "2"
        assert variables["EVENTUAL_AWS_OUTBOX_SHARDS"] == "4"
        assert "EVENTUAL_AWS_TASK_SHARDS" not in variables
    for props in _of_type(template, "AWS::Lambda::Function").values():
        assert "EVENTUAL_AWS_LISTING_SHARDS" not in props["Properties"]["Environment"]["Variables"]


def test_functions_are_fed_by_their_plan_queues(plan: ServicePlan, template: Template) -> None:
    """Each plan event source is a mapping from its queue, with the plan's batching."""
    mappings = _of_type(template, "AWS::Lambda::EventSourceMapping")
    expected = [(f, s) for f in plan.functions for s in f.event_sources]
    assert len(mappings) == len(expected)
    for _function, source in expected:
        template.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {
                "BatchSize": source.batch_size,
                "FunctionResponseTypes": (
                    ["ReportBatchItemFailures"]
                    if source.report_batch_item_failures
                    else Match.absent()
                ),
            },
        )


def test_every_plan_queue_exists_with_its_redrive(plan: ServicePlan, template: Template) -> None:
    """Queues are exactly the plan's, with its names, timeouts, retention and dead letters."""
    queues = _by_property(template, "AWS::SQS::Queue", "QueueName")
    assert set(queues) == {q.name for q in plan.queues}
    for queue in plan.queues:
        props = queues[queue.name]
        assert props["VisibilityTimeout"] == queue.visibility_timeout_s
        assert props["MessageRetentionPeriod"] == queue.retention_s
        assert props.get("FifoQueue", False) == queue.fifo
        if queue.redrive is None:
            assert "RedrivePolicy" not in props
        else:
            assert props["RedrivePolicy"]["maxReceiveCount"] == queue.redrive.max_receive_count


def test_the_table_has_the_plans_keys_indexes_and_ttl(
    plan: ServicePlan, template: Template
) -> None:
    """One on-demand table with the plan's keys, indexes, TTL and point-in-time recovery."""
    tables = _of_type(template, "AWS::DynamoDB::Table")
    assert len(tables) == 1
    (props,) = [t["Properties"] for t in tables.values()]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {
        "AttributeName": plan.table.ttl_attribute,
        "Enabled": True,
    }
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert {i["IndexName"] for i in props["GlobalSecondaryIndexes"]} == {
        i.name for i in plan.table.indexes
    }


def test_each_subscription_rule_has_its_pattern_and_targets_its_queue(
    plan: ServicePlan, template: Template
) -> None:
    """Rules carry the plan's patterns, on the service's bus, to their queues only."""
    rules = _by_property(template, "AWS::Events::Rule", "Name")
    assert set(rules) == {r.name for r in plan.rules}
    buses = _of_type(template, "AWS::Events::EventBus")
    (bus_id,) = buses
    assert buses[bus_id]["Properties"]["Name"] == plan.event_bus.name
    for rule in plan.rules:
        props = rules[rule.name]
        assert props["EventPattern"] == rule.pattern
        assert props["EventBusName"] == {"Ref": bus_id}
        (target,) = props["Targets"]
        queue_ids = [
            k
            for k, v in _of_type(template, "AWS::SQS::Queue").items()
            if v["Properties"]["QueueName"] == plan.queue(rule.target).name
        ]
        assert target["Arn"] == {"Fn::GetAtt": [queue_ids[0], "Arn"]}


def test_routes_are_the_plans_and_the_system_api_needs_iam(
    plan: ServicePlan, template: Template
) -> None:
    """Every plan route exists; only the system API routes require SigV4 (IAM) auth."""
    routes = _by_property(template, "AWS::ApiGatewayV2::Route", "RouteKey")
    assert set(routes) == {r.key for r in plan.http_api.routes}
    for route in plan.http_api.routes:
        expected = "AWS_IAM" if route.authorization == "iam" else "NONE"
        assert routes[route.key].get("AuthorizationType", "NONE") == expected
    assert routes["ANY /_eventual/{proxy+}"]["AuthorizationType"] == "AWS_IAM"
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Integration", {"PayloadFormatVersion": "2.0"}
    )


def test_the_schedule_group_and_scheduler_role_exist(plan: ServicePlan, template: Template) -> None:
    """The schedule group has the plan's name; its role is assumed by Scheduler only."""
    template.has_resource_properties(
        "AWS::Scheduler::ScheduleGroup", {"Name": plan.schedule_group.name}
    )
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like({"Principal": {"Service": "scheduler.amazonaws.com"}})
                ]
            }
        },
    )


def _policy_actions(template: Template) -> dict[str, set[str]]:
    """Map each function's physical name to the actions its role's policies allow."""
    roles = {
        name: props["Role"]["Fn::GetAtt"][0]
        for name, props in _by_property(template, "AWS::Lambda::Function", "FunctionName").items()
    }
    actions: dict[str, set[str]] = {name: set() for name in roles}
    for policy in _of_type(template, "AWS::IAM::Policy").values():
        props = policy["Properties"]
        for name, role in roles.items():
            if {"Ref": role} in props["Roles"]:
                for statement in props["PolicyDocument"]["Statement"]:
                    listed = statement["Action"]
                    actions[name].update([listed] if isinstance(listed, str) else listed)
    return actions


def test_each_role_allows_exactly_the_plans_actions(plan: ServicePlan, template: Template) -> None:
    """A function's role allows what its plan statements name, and nothing else."""
    actions = _policy_actions(template)
    for function in plan.functions:
        expected = {a for s in function.statements for a in s.actions}
        assert actions[function.physical_name] == expected, function.name
    roles = _of_type(template, "AWS::IAM::Role")
    assert all("ManagedPolicyArns" not in r["Properties"] for r in roles.values())


def test_no_statement_allows_a_wildcard_action(template: Template) -> None:
    """No statement in the template allows ``*`` or ``service:*`` (TLS-only denials aside)."""
    kinds = ("AWS::IAM::Policy", "AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy")
    for policy in template.to_json()["Resources"].values():
        if policy["Type"] not in kinds:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            listed = statement["Action"]
            for action in [listed] if isinstance(listed, str) else listed:
                assert "*" not in action, statement


def test_the_bucket_expires_what_the_plan_says(plan: ServicePlan, template: Template) -> None:
    """Each of the plan's expirations is a lifecycle rule on the bucket, by prefix and days."""
    assert plan.bucket.expirations
    rules = [
        {"Id": e.id, "Prefix": e.prefix, "ExpirationInDays": e.days, "Status": "Enabled"}
        for e in plan.bucket.expirations
    ]
    template.has_resource_properties(
        "AWS::S3::Bucket", {"LifecycleConfiguration": {"Rules": rules}}
    )


def test_nothing_is_created_beyond_the_plan(plan: ServicePlan, template: Template) -> None:
    """Counts of each resource type match the plan (plus alarms and the dashboard)."""
    expected = {
        "AWS::Lambda::Function": len(plan.functions),
        "AWS::SQS::Queue": len(plan.queues),
        "AWS::Logs::LogGroup": len(plan.log_groups),
        "AWS::Events::Rule": len(plan.rules),
        "AWS::DynamoDB::Table": 1,
        "AWS::S3::Bucket": 1,
        "AWS::Events::EventBus": 1,
        "AWS::Scheduler::ScheduleGroup": 1,
        "AWS::Scheduler::Schedule": len(plan.schedules),
        "AWS::ApiGatewayV2::Api": 1,
        "AWS::IAM::Role": len(plan.functions) + len(plan.roles),
        "AWS::CloudWatch::Alarm": sum(q.redrive is None for q in plan.queues) + 1,
        "AWS::CloudWatch::Dashboard": 1,
    }
    for kind, count in expected.items():
        template.resource_count_is(kind, count)


def test_alarms_watch_dead_letters_and_orchestrator_errors(
    synthesized: Synthesized, plan: ServicePlan
) -> None:
    """There is an alarm per dead-letter queue and one on the orchestrator's errors."""
    service = synthesized[0]
    dead_letters = {q.id for q in plan.queues if q.redrive is None}
    assert set(service.alarms) == dead_letters | {"function.orchestrator"}
    assert service.dashboard is not None


def test_cfn_lint_reports_no_error(synthesized: Synthesized) -> None:
    """cfn-lint finds no error in the synthesized templates (warnings are CDK's own)."""
    outdir = synthesized[2]
    templates = [str(outdir / name) for name in ("Shop.template.json", "Reports.template.json")]
    result = subprocess.run(
        [sys.executable, "-c", _CFN_LINT, "--format", "json", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings, "cfn-lint reports CDK's DependsOn warnings; none means it did not run"
    assert [f for f in findings if f["Level"] == "Error"] == []


def test_each_scheduled_workflow_has_its_recurring_schedule(
    reports: tuple[Service, Template],
) -> None:
    """A schedule per scheduled workflow, with the plan's expression, zone, target and retries."""
    service, template = reports
    assert set(service.schedules) == {s.id for s in service.plan.schedules} != set()
    schedules = _by_property(template, "AWS::Scheduler::Schedule", "Name")
    assert set(schedules) == {s.name for s in service.plan.schedules}
    for planned in service.plan.schedules:
        props = schedules[planned.name]
        assert props["ScheduleExpression"] == planned.expression
        assert props["ScheduleExpressionTimezone"] == planned.timezone
        assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert props["State"] == "ENABLED"
        target = props["Target"]
        assert target["Input"] == planned.input
        assert target["RetryPolicy"] == {
            "MaximumEventAgeInSeconds": planned.retry.maximum_event_age_s,
            "MaximumRetryAttempts": planned.retry.maximum_retry_attempts,
        }
        assert "DeadLetterConfig" in target
        assert json.dumps(target["Arn"]).find(service.plan.function("forwarder").physical_name) > 0
    expressions = {p["ScheduleExpression"] for p in schedules.values()}
    assert expressions == {"cron(0 9 ? * MON-FRI *)", "rate(90 minutes)"}


def test_the_nightly_restock_is_a_schedule_in_new_york_time(
    synthesized: Synthesized, template: Template
) -> None:
    """The orders template has the nightly restock's schedule: 01:00 in America/New_York."""
    schedules = list(_of_type(template, "AWS::Scheduler::Schedule").values())
    assert [
        (props["ScheduleExpression"], props["ScheduleExpressionTimezone"])
        for props in (schedule["Properties"] for schedule in schedules)
    ] == [("cron(0 1 * * ? *)", "America/New_York")]
    assert list(synthesized.service.schedules) == ["schedule.nightly_restock"]


def test_cdk_nag_findings_are_all_acknowledged_with_reasons(
    synthesized: Synthesized,
) -> None:
    """cdk-nag's report has no open violation, and every acknowledgment states a reason."""
    report = json.loads((synthesized[2] / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["violations"] == []
    assert nag["suppressedViolations"]
    assert all(len(v["reason"]) > 40 for v in nag["suppressedViolations"])


def test_all_functions_share_one_code_asset_without_deploy_tooling(
    synthesized: Synthesized,
) -> None:
    """One asset serves every function; it holds the runtime and service, not CDK or the CLI."""
    template, outdir = synthesized[1], synthesized[2]
    keys = {
        json.dumps(p["Code"])
        for p in _by_property(template, "AWS::Lambda::Function", "FunctionName").values()
    }
    assert len(keys) == 1
    (bundle,) = [p for p in outdir.glob("asset.*") if p.is_dir() and (p / "orders").is_dir()]
    names = {p.name for p in bundle.iterdir()}
    assert {"eventual", "eventual_engine", "eventual_messaging", "eventual_aws", "orders"} <= names
    assert {"aws_cdk", "jsii", "click", "uvicorn", "eventual_cli", "eventual_aws_cdk"}.isdisjoint(
        names
    )
    assert any(n.startswith("eventual_aws-") and n.endswith(".dist-info") for n in names)
