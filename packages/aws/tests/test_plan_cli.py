"""Tests for ``eventual plan``, contributed to the CLI by eventual-aws's plugin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pytest

if TYPE_CHECKING:
    from click.testing import Result

from eventual_aws import ServicePlan, plan
from eventual_aws._plan._cli import _shards
from eventual_aws._plan._summary import summary

click_testing = pytest.importorskip("click.testing")
eventual_cli = pytest.importorskip("eventual_cli")

ORDERS = Path(__file__).resolve().parents[3] / "examples" / "orders"


def run(args: list[str], monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.chdir(ORDERS)
    result: Result = click_testing.CliRunner().invoke(eventual_cli.cli, args, prog_name="eventual")
    return result


def test_plan_is_an_eventual_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """With eventual-aws installed, `eventual plan` prints the summary of the configured service."""
    result = run(["plan"], monkeypatch)
    assert result.exit_code == 0, result.output
    assert result.output == summary(plan("orders.service"))
    assert "task-reserve_stock  task" in result.output
    assert "ANY /_eventual/{proxy+}" in result.output


def test_plan_json_and_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """`eventual plan --json --prefix P --event-bus B` prints the plan's JSON with those."""
    result = run(
        ["plan", "--service", "orders.service", "--json", "--prefix", "stage"], monkeypatch
    )
    assert result.exit_code == 0, result.output
    p = ServicePlan.from_json(json.loads(result.output))
    assert p.prefix == "stage"
    assert p.queue("queue.workflow").name == "stage-workflow.fifo"


def test_plan_reports_bad_input_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A prefix AWS refuses, or a missing module, is reported as an error message."""
    result = run(["plan", "--prefix", "bad prefix"], monkeypatch)
    assert result.exit_code == 1
    assert "cannot prefix AWS resource names" in result.output
    missing = run(["plan", "--service", "no_such_module.service"], monkeypatch)
    assert missing.exit_code == 1
    assert "cannot import service module 'no_such_module.service'" in missing.output


def test_plan_takes_shard_counts_from_the_options() -> None:
    """``aws_*_shards`` options of ``[tool.eventual]`` become the plan's shard counts."""
    assert _shards({"aws_listing_shards": 4, "aws_task_shards": "2", "aws_table": "t"}) == {
        "listing_shards": 4,
        "task_shards": 2,
    }
    with pytest.raises(click.UsageError, match="aws_inbox_shards must be an integer, got 'x'"):
        _shards({"aws_inbox_shards": "x"})
