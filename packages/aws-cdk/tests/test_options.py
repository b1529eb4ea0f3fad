"""Two services in one app, one joining the other's bus, with every option a CDK user sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from eventual_aws_cdk import FunctionOptions, Service

Resources = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, orders_src: Path, services_dir: Path
) -> tuple[Service, Service, Template]:
    """Synthesize orders (every option set) and shipping (on orders' bus) in one stack, once."""
    app = App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stack = Stack(app, "Shop")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    # Prebuilt code: this module checks rendering; bundling has its own tests.
    code = lambda_.Code.from_inline("def handler(event, context): ...")
    orders = Service(
        stack,
        "Orders",
        service="orders.service",
        source_dir=orders_src,
        functions={
            "task-reserve_stock": FunctionOptions(
                memory_mb=2048,
                timeout=Duration.minutes(5),
                reserved_concurrency=3,
                environment={"STOCK_API": "https://stock.example"},
                architecture=lambda_.Architecture.X86_64,
            )
        },
        encryption_key=key,
        removal_policy=RemovalPolicy.DESTROY,
        log_retention=logs.RetentionDays.ONE_WEEK,
        cors=apigwv2.CorsPreflightOptions(
            allow_origins=["https://shop.example"],
            allow_methods=[apigwv2.CorsHttpMethod.POST],
        ),
        code=code,
    )
    shipping = Service(
        stack,
        "Shipping",
        service="shipping.service",
        source_dir=services_dir,
        event_bus=orders.event_bus,
        code=code,
        monitoring=False,
    )
    grantee = iam.Role(stack, "Operator", assumed_by=iam.AccountRootPrincipal())
    orders.grant_invoke_system_api(grantee)
    shipping.grant_publish(grantee)
    return orders, shipping, Template.from_stack(stack)


def _functions(template: Template) -> dict[str, dict[str, Any]]:
    found = template.find_resources("AWS::Lambda::Function")
    return {r["Properties"]["FunctionName"]: r["Properties"] for r in found.values()}


def test_the_second_service_subscribes_on_the_first_services_bus(
    app: tuple[Service, Service, Template],
) -> None:
    """Shipping creates no bus: its rule listens on orders' bus and feeds shipping's queue."""
    orders, shipping, template = app
    template.resource_count_is("AWS::Events::EventBus", 1)
    assert shipping.event_bus is orders.event_bus
    (bus_id,) = template.find_resources("AWS::Events::EventBus")
    rules = template.find_resources("AWS::Events::Rule")
    (ship,) = [
        r["Properties"] for r in rules.values() if r["Properties"]["Name"] == "shipping-ship"
    ]
    assert ship["EventBusName"] == {"Ref": bus_id}
    assert ship["EventPattern"] == {"detail-type": ["OrderPlaced"]}
    env = _functions(template)["shipping-task-book_courier"]["Environment"]["Variables"]
    assert env["EVENTUAL_AWS_EVENT_BUS_NAME"] == {"Ref": bus_id}


def test_function_overrides_win_over_the_plan(app: tuple[Service, Service, Template]) -> None:
    """Memory, timeout, concurrency, environment and architecture overrides are applied."""
    props = _functions(app[2])["orders-task-reserve_stock"]
    assert props["MemorySize"] == 2048
    assert props["Timeout"] == 300
    assert props["ReservedConcurrentExecutions"] == 3
    assert props["Architectures"] == ["x86_64"]
    assert props["Environment"]["Variables"]["STOCK_API"] == "https://stock.example"
    assert props["Environment"]["Variables"]["EVENTUAL_AWS_TASK"] == "reserve_stock"
    # Plan-defined memory is kept where nothing overrides it.
    assert _functions(app[2])["shipping-task-book_courier"]["MemorySize"] == 1024


def test_a_longer_timeout_raises_its_queues_visibility(
    app: tuple[Service, Service, Template],
) -> None:
    """A task given 5 minutes gets a queue that hides a message 6 x 5 minutes."""
    app[2].has_resource_properties(
        "AWS::SQS::Queue", {"QueueName": "orders-task-reserve_stock", "VisibilityTimeout": 1800}
    )


def test_the_key_encrypts_storage_queues_and_logs(app: tuple[Service, Service, Template]) -> None:
    """With a KMS key, the table, bucket, queues and log groups use it; roles may use it."""
    orders, _shipping, template = app
    key_id = template.find_resources("AWS::KMS::Key")
    (key_logical_id,) = key_id
    key_arn = {"Fn::GetAtt": [key_logical_id, "Arn"]}
    tables = template.find_resources("AWS::DynamoDB::Table")
    assert any(
        t["Properties"]["SSESpecification"].get("KMSMasterKeyId") == key_arn
        for t in tables.values()
    )
    for queue in orders.plan.queues:
        template.has_resource_properties(
            "AWS::SQS::Queue", {"QueueName": queue.name, "KmsMasterKeyId": key_arn}
        )
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": "/aws/lambda/orders-orchestrator", "KmsKeyId": key_arn},
    )
    orders_role = orders.function_roles["orchestrator"]
    assert orders_role.node.try_find_child("DefaultPolicy") is not None


def test_removal_policy_log_retention_and_cors(app: tuple[Service, Service, Template]) -> None:
    """DESTROY deletes the table, logs keep a week, and the API answers CORS preflights."""
    template = app[2]
    tables = template.find_resources("AWS::DynamoDB::Table")
    policies = {k.startswith("Orders"): t["DeletionPolicy"] for k, t in tables.items()}
    assert policies == {True: "Delete", False: "Retain"}  # shipping keeps CDK's default
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": "/aws/lambda/orders-orchestrator", "RetentionInDays": 7},
    )
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {
            "Name": "orders-api",
            "CorsConfiguration": {
                "AllowOrigins": ["https://shop.example"],
                "AllowMethods": ["POST"],
            },
        },
    )


def test_grants_reach_the_system_api_and_the_bus(app: tuple[Service, Service, Template]) -> None:
    """grant_invoke_system_api and grant_publish give an operator exactly those two rights."""
    template = app[2]
    policies = template.find_resources("AWS::IAM::Policy")
    operator = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in policies.values()
        if any("Operator" in r["Ref"] for r in p["Properties"]["Roles"])
    ]
    (statements,) = operator
    assert sorted(s["Action"] for s in statements) == ["events:PutEvents", "execute-api:Invoke"]


def test_every_construct_is_reachable(app: tuple[Service, Service, Template]) -> None:
    """Each plan queue, rule, function and log group has its construct on the Service."""
    orders = app[0]
    assert set(orders.queues) == {q.id for q in orders.plan.queues}
    assert set(orders.rules) == {r.id for r in orders.plan.rules}
    assert set(orders.functions) == {f.name for f in orders.plan.functions}
    assert set(orders.log_groups) == {g.id for g in orders.plan.log_groups}
    assert orders.table.node.default_child is not None
    assert orders.bucket.node.default_child is not None
    assert orders.encryption_key is not None
