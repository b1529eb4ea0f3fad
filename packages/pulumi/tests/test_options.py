"""``Service``'s options: an existing bus, function overrides, a KMS key, a given archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from eventual_aws import PlanError
from eventual_pulumi import FunctionOverrides, Service

KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def recorder(orders_src: Path, run: Any) -> Any:
    """Render examples/orders once with every option set."""

    def program() -> pulumi.Output[str]:
        service = Service(
            "shared",
            service="orders.service",
            source_dir=orders_src,
            prefix="orders-prod",
            event_bus="default",
            overrides={
                "task-reserve_stock": FunctionOverrides(
                    memory_mb=2048, reserved_concurrency=3, environment={"STOCK_API": "https://x"}
                )
            },
            kms_key=KEY,
            code=pulumi.AssetArchive({}),
        )
        assert service.bundle is None
        assert service.event_bus is None
        return service.event_bus_arn

    return run(program)


def _functions(recorder: Any) -> dict[str, dict[str, Any]]:
    return {r.inputs["name"]: r.inputs for r in recorder.of_type("aws:lambda/function:Function")}


def test_an_existing_bus_is_used_not_created(recorder: Any) -> None:
    """With event_bus=, no bus is created and rules listen on the named bus."""
    assert recorder.of_type("aws:cloudwatch/eventBus:EventBus") == []
    for rule in recorder.of_type("aws:cloudwatch/eventRule:EventRule"):
        assert rule.inputs["eventBusName"] == "default"
    for function in _functions(recorder).values():
        assert function["environment"]["variables"]["EVENTUAL_AWS_EVENT_BUS_NAME"] == "default"


def test_the_prefix_names_every_physical_resource(recorder: Any) -> None:
    """prefix= starts the names of queues and functions, so stacks can share an account."""
    assert all(name.startswith("orders-prod-") for name in _functions(recorder))
    for queue in recorder.of_type("aws:sqs/queue:Queue"):
        assert queue.inputs["name"].startswith("orders-prod-")


def test_overrides_change_one_function_only(recorder: Any) -> None:
    """A function's override sets its memory, concurrency and extra environment, and no other's."""
    functions = _functions(recorder)
    task = functions["orders-prod-task-reserve_stock"]
    assert task["memorySize"] == 2048
    assert task["reservedConcurrentExecutions"] == 3
    assert task["environment"]["variables"]["STOCK_API"] == "https://x"
    assert functions["orders-prod-api"]["memorySize"] == 512
    assert "STOCK_API" not in functions["orders-prod-api"]["environment"]["variables"]


def test_a_kms_key_encrypts_storage_and_roles_may_use_it(recorder: Any) -> None:
    """kms_key= encrypts table, bucket, queues, logs and environments, and roles may use it."""
    (table,) = recorder.of_type("aws:dynamodb/table:Table")
    assert table.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": KEY}
    for queue in recorder.of_type("aws:sqs/queue:Queue"):
        assert queue.inputs["kmsMasterKeyId"] == KEY
    for group in recorder.of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs["kmsKeyId"] == KEY
    for function in _functions(recorder).values():
        assert function["kmsKeyArn"] == KEY
    (encryption,) = recorder.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    default = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}
    for policy in recorder.of_type("aws:iam/rolePolicy:RolePolicy"):
        statements = json.loads(policy.inputs["policy"])["Statement"]
        assert {
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [KEY],
        } in statements


def test_an_override_of_an_unknown_function_is_refused(orders_src: Path, run: Any) -> None:
    """Overriding a function the plan does not have fails, naming it and the known ones."""

    def program() -> None:
        Service(
            "typo",
            service="orders.service",
            source_dir=orders_src,
            overrides={"task-reserve_stok": FunctionOverrides(memory_mb=256)},
            code=pulumi.AssetArchive({}),
        )

    with pytest.raises(ValueError, match=r"task-reserve_stok.*it has orchestrator"):
        run(program)


def test_overrides_refuse_the_plans_variables() -> None:
    """An override may not replace an EVENTUAL_ variable the handlers rely on."""
    with pytest.raises(ValueError, match="EVENTUAL_AWS_TABLE"):
        FunctionOverrides(environment={"EVENTUAL_AWS_TABLE": "other"})


def test_a_plan_error_reaches_the_program(tmp_path: Path, run: Any) -> None:
    """A service the plan refuses fails the program with the plan's message."""
    (tmp_path / "badsvc").mkdir()
    (tmp_path / "badsvc" / "__init__.py").write_text(
        "from eventual import task\n\n@task(memory=100)\nasync def tiny() -> None: ...\n"
    )

    def program() -> None:
        Service("bad", service="badsvc", source_dir=tmp_path, code=pulumi.AssetArchive({}))

    with pytest.raises(PlanError, match="tiny"):
        run(program)
