"""The ``aws-cdk`` deploy target and ``eventual synth``, contributed by the plugin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from eventual.plugins import DeployTarget, Plugins, get_plugin_manager, hookimpl

if TYPE_CHECKING:
    from click.testing import Result

click_testing = pytest.importorskip("click.testing")
eventual_cli = pytest.importorskip("eventual_cli")


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


def test_synth_without_a_known_target_names_the_ones_there_are(
    monkeypatch: pytest.MonkeyPatch, orders_src: Path
) -> None:
    """``eventual synth --target helm`` fails with a message listing the targets."""
    monkeypatch.chdir(orders_src.parent)
    result: Result = click_testing.CliRunner().invoke(
        eventual_cli.cli, ["synth", "--target", "helm"], prog_name="eventual"
    )
    assert result.exit_code == 1
    assert "aws-cdk" in result.output


def test_eventual_synth_writes_a_cloud_assembly(
    monkeypatch: pytest.MonkeyPatch, orders_src: Path, bundle_cache: Path, tmp_path: Path
) -> None:
    """``eventual synth --target aws-cdk -o DIR`` in a project writes a deployable assembly."""
    monkeypatch.chdir(orders_src.parent)
    monkeypatch.setenv("EVENTUAL_BUNDLE_CACHE", str(bundle_cache))
    outdir = tmp_path / "assembly"
    result: Result = click_testing.CliRunner().invoke(
        eventual_cli.cli,
        ["synth", "--target", "aws-cdk", "-o", str(outdir), "--offline", "--prefix", "shop"],
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
    assert "ApiUrl" in template["Outputs"]


class _FilesTarget:
    """A plugin whose deploy target returns files, as a Pulumi program does."""

    @staticmethod
    @hookimpl
    def eventual_deploy_targets() -> list[DeployTarget]:
        return [
            DeployTarget(
                name="files",
                description="writes one file",
                synthesize=lambda service, settings: {"main.txt": f"deploy {service}"},
            )
        ]


def test_synth_writes_the_files_a_target_returns(
    monkeypatch: pytest.MonkeyPatch, orders_src: Path, tmp_path: Path
) -> None:
    """A target returning file contents gets them written under -o DIR."""
    monkeypatch.chdir(orders_src.parent)
    real = get_plugin_manager

    def with_files_target(**kwargs: Any) -> Any:
        return real(plugins=[_FilesTarget()])

    monkeypatch.setattr("eventual_aws_cdk._cli.get_plugin_manager", with_files_target)
    result: Result = click_testing.CliRunner().invoke(
        eventual_cli.cli,
        ["synth", "--target", "files", "-o", str(tmp_path / "out")],
        prog_name="eventual",
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "main.txt").read_text() == "deploy orders.service"
