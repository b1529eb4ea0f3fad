"""The ``aws-cdk`` deploy target, and ``eventual synth --target aws-cdk`` writing an assembly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from eventual.plugins import Plugins, get_plugin_manager

if TYPE_CHECKING:
    from click.testing import Result


def test_loading_the_plugin_imports_neither_the_cdk_nor_click() -> None:
    """Finding the plugin costs no jsii start-up: aws_cdk and click load only when used."""
    code = (
        "import sys, eventual_aws_cdk._plugin as p; p.eventual_deploy_targets();"
        "print(sorted(m for m in ('aws_cdk', 'click', 'jsii') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_aws_cdk_is_a_deploy_target() -> None:
    """With eventual-aws-cdk installed, the plugins offer the ``aws-cdk`` deploy target."""
    target = Plugins(get_plugin_manager()).deploy_target("aws-cdk")
    assert "cdk" in target.description


def test_eventual_synth_writes_a_cloud_assembly(
    monkeypatch: pytest.MonkeyPatch, orders_src: Path, bundle_cache: Path, tmp_path: Path
) -> None:
    """``eventual synth --target aws-cdk -o DIR`` in a project writes a deployable assembly.

    The project's ``aws_*_shards`` are set on every function, as ``eventual plan`` shows them.
    """
    click_testing = pytest.importorskip("click.testing")
    eventual_cli = pytest.importorskip("eventual_cli")
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.eventual]\nservice = "orders.service"\naws_inbox_shards = 3\naws_outbox_shards = 2\n'
    )
    monkeypatch.chdir(project)
    monkeypatch.setenv("EVENTUAL_BUNDLE_CACHE", str(bundle_cache))
    outdir = tmp_path / "assembly"
    result: Result = click_testing.CliRunner().invoke(
        eventual_cli.cli,
        [
            "synth",
            "--target",
            "aws-cdk",
            "-o",
            str(outdir),
            "--source-dir",
            str(orders_src),
            "--offline",
            "--prefix",
            "shop",
        ],
        prog_name="eventual",
    )
    assert result.exit_code == 0, result.output
    assert "synthesized to" in result.output
    template = json.loads((outdir / "shop.template.json").read_text())
    names = {
        r["Properties"].get("FunctionName")
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    }
    assert "shop-orchestrator" in names
    variables = [
        r["Properties"]["Environment"]["Variables"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    ]
    assert {v["EVENTUAL_AWS_INBOX_SHARDS"] for v in variables} == {"3"}
    assert {v["EVENTUAL_AWS_OUTBOX_SHARDS"] for v in variables} == {"2"}
    assert "ApiUrl" in template["Outputs"]
