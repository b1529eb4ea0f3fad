"""The plan's settings read from a project's configuration, shared by every planning command."""

from __future__ import annotations

import pytest

from eventual.plugins import EventualConfig
from eventual_aws import PlanError, plan, shards_from_config


def test_shard_options_become_the_plans_shard_counts() -> None:
    """``aws_*_shards`` options give the counts, other options and unset counts are left out."""
    config = EventualConfig(
        options={
            "aws_listing_shards": 4,
            "aws_task_shards": "2",
            "aws_outbox_shards": 8,
            "aws_table": "t",
        }
    )
    assert shards_from_config(config) == {"listing_shards": 4, "task_shards": 2, "outbox_shards": 8}
    assert shards_from_config(EventualConfig()) == {}


@pytest.mark.parametrize("value", ["x", 0, "-1", 2.5, True])
@pytest.mark.parametrize("option", ["aws_inbox_shards", "aws_outbox_shards"])
def test_a_count_that_is_not_a_positive_integer_names_its_option(
    option: str, value: object
) -> None:
    """A shard option that is not an integer of 1 or more fails, naming the option and value."""
    with pytest.raises(PlanError, match=rf"{option} in \[tool.eventual\] must be"):
        shards_from_config(EventualConfig(options={option: value}))


def test_the_counts_reach_every_function_of_the_plan() -> None:
    """Planned with the counts read, every function gets the matching environment variables."""
    config = EventualConfig(
        options={"aws_timer_shards": "3", "aws_inbox_shards": 2, "aws_outbox_shards": "4"}
    )
    planned = plan("orders.service", shards=shards_from_config(config))
    for function in planned.functions:
        assert function.environment["EVENTUAL_AWS_TIMER_SHARDS"] == "3"
        assert function.environment["EVENTUAL_AWS_INBOX_SHARDS"] == "2"
        assert function.environment["EVENTUAL_AWS_OUTBOX_SHARDS"] == "4"
        assert "EVENTUAL_AWS_LISTING_SHARDS" not in function.environment
