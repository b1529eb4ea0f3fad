"""The ``aws`` backend is chosen by configuration, through the plugin host."""

from __future__ import annotations

import pytest

from eventual import EventualError
from eventual.plugins import EventualConfig, Plugins, get_plugin_manager
from eventual_aws._backend import AwsBackend, AwsBackendConfig

ENVIRONMENT = {
    "EVENTUAL_AWS_TABLE": "orders-table",
    "EVENTUAL_AWS_BUCKET": "orders-bucket",
    "EVENTUAL_AWS_WORKFLOW_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/orders-workflow.fifo",
    "EVENTUAL_AWS_TIMER_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/orders-timer",
    "EVENTUAL_AWS_QUEUE_PREFIX": "orders",
    "EVENTUAL_AWS_SCHEDULE_GROUP": "orders",
    "EVENTUAL_AWS_SCHEDULER_ROLE_ARN": "arn:aws:iam::1:role/orders-scheduler",
    "EVENTUAL_AWS_FORWARDER_ARN": "arn:aws:lambda:eu-west-1:1:function:orders-forwarder",
    "EVENTUAL_AWS_FORWARDER_DLQ_ARN": "arn:aws:sqs:eu-west-1:1:orders-forwarder-dlq",
}


def test_the_installed_distribution_provides_the_aws_backend() -> None:
    """With plugins autoloaded, ``backend = "aws"`` names this distribution's backend."""
    provider = Plugins(get_plugin_manager(autoload=True)).backend("aws")
    assert "DynamoDB" in provider.description


async def test_the_backend_is_configured_from_the_plan_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every resource comes from the environment names the plan sets on a function."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    provider = Plugins(get_plugin_manager(autoload=True)).backend("aws")
    backend = provider.create(EventualConfig(backend="aws"))
    assert isinstance(backend, AwsBackend)
    try:
        assert backend.config == AwsBackendConfig(
            table="orders-table",
            bucket="orders-bucket",
            workflow_queue_url=ENVIRONMENT["EVENTUAL_AWS_WORKFLOW_QUEUE_URL"],
            timer_queue_url=ENVIRONMENT["EVENTUAL_AWS_TIMER_QUEUE_URL"],
            queue_prefix="orders",
            schedule_group="orders",
            scheduler_role_arn=ENVIRONMENT["EVENTUAL_AWS_SCHEDULER_ROLE_ARN"],
            forwarder_arn=ENVIRONMENT["EVENTUAL_AWS_FORWARDER_ARN"],
            forwarder_dlq_arn=ENVIRONMENT["EVENTUAL_AWS_FORWARDER_DLQ_ARN"],
        )
    finally:
        await backend.close()


def test_options_override_the_environment() -> None:
    """``aws_*`` settings of ``[tool.eventual]`` win over the environment."""
    config = EventualConfig(
        backend="aws",
        options={
            "aws_table": "local",
            "aws_endpoint_url": "http://127.0.0.1:5000",
            "aws_timer_shards": 4,
        },
    )
    found = AwsBackendConfig.from_config(
        config, {"EVENTUAL_AWS_TABLE": "t", "EVENTUAL_AWS_BUCKET": "b"}
    )
    assert (found.table, found.bucket, found.endpoint_url, found.timer_shards) == (
        "local",
        "b",
        "http://127.0.0.1:5000",
        4,
    )


def test_a_missing_table_or_bad_number_is_named() -> None:
    """Configuration errors name the variable or option to set."""
    with pytest.raises(EventualError, match="EVENTUAL_AWS_TABLE and EVENTUAL_AWS_BUCKET"):
        AwsBackendConfig.from_environment({})
    config = EventualConfig(backend="aws", options={"aws_timer_shards": "many"})
    with pytest.raises(EventualError, match="aws_timer_shards must be an integer, got 'many'"):
        AwsBackendConfig.from_config(
            config, {"EVENTUAL_AWS_TABLE": "t", "EVENTUAL_AWS_BUCKET": "b"}
        )


def test_shard_counts_come_from_the_plan_or_the_options() -> None:
    """Each index's shard count is read from its variable, an ``aws_*_shards`` option winning."""
    env = {
        "EVENTUAL_AWS_TABLE": "t",
        "EVENTUAL_AWS_BUCKET": "b",
        "EVENTUAL_AWS_LISTING_SHARDS": "4",
        "EVENTUAL_AWS_TASK_SHARDS": "2",
        "EVENTUAL_AWS_INBOX_SHARDS": "3",
        "EVENTUAL_AWS_TIMER_SHARDS": "5",
        "EVENTUAL_AWS_OUTBOX_SHARDS": "6",
    }
    found = AwsBackendConfig.from_environment(env)
    assert (
        found.listing_shards,
        found.task_shards,
        found.inbox_shards,
        found.timer_shards,
        found.outbox_shards,
    ) == (4, 2, 3, 5, 6)
    options = EventualConfig(backend="aws", options={"aws_listing_shards": 8})
    assert AwsBackendConfig.from_config(options, env).listing_shards == 8
    assert (
        AwsBackendConfig.from_environment({**env, "EVENTUAL_AWS_OUTBOX_SHARDS": ""}).outbox_shards
        == 1
    )
    zero = EventualConfig(backend="aws", options={"aws_inbox_shards": "0"})
    with pytest.raises(EventualError, match="aws_inbox_shards must be 1 or more, got '0'"):
        AwsBackendConfig.from_config(zero, env)
    for bad in ("0", "two"):
        outbox = EventualConfig(backend="aws", options={"aws_outbox_shards": bad})
        with pytest.raises(EventualError, match=f"aws_outbox_shards must be .*{bad!r}"):
            AwsBackendConfig.from_config(outbox, env)
