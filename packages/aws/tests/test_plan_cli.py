"""Tests for ``eventual plan``, contributed to the CLI by eventual-aws's plugin."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from click.testing import Result

from eventual_aws import ServicePlan, plan
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
    assert re.search(r"^  task-reserve_stock +task ", result.output, re.MULTILINE)
    assert re.search(
        r"^  schedule\.nightly_restock .* cron\(0 1 \* \* \? \*\) +America/New_York ",
        result.output,
        re.MULTILINE,
    )
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


def test_plan_takes_shard_counts_from_the_project(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``aws_*_shards`` in ``[tool.eventual]`` reach every function; a bad count is an error."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.eventual]\nservice = "orders.service"\naws_listing_shards = 4\n'
        "aws_outbox_shards = 2\n"
    )
    monkeypatch.syspath_prepend(str(ORDERS / "src"))
    monkeypatch.chdir(tmp_path)
    runner = click_testing.CliRunner()
    result: Result = runner.invoke(eventual_cli.cli, ["plan", "--json"], prog_name="eventual")
    assert result.exit_code == 0, result.output
    functions = ServicePlan.from_json(json.loads(result.output)).functions
    assert {f.environment["EVENTUAL_AWS_LISTING_SHARDS"] for f in functions} == {"4"}
    assert {f.environment["EVENTUAL_AWS_OUTBOX_SHARDS"] for f in functions} == {"2"}
    (tmp_path / "pyproject.toml").write_text(
        '[tool.eventual]\nservice = "orders.service"\naws_listing_shards = 0\n'
    )
    bad: Result = runner.invoke(eventual_cli.cli, ["plan"], prog_name="eventual")
    assert bad.exit_code == 1
    assert "aws_listing_shards in [tool.eventual] must be an integer of 1 or more, got 0" in (
        bad.output
    )
