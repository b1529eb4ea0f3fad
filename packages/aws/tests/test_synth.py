"""``eventual synth``, contributed by eventual-aws's plugin for every registered deploy target."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from eventual.plugins import DeployTarget, get_plugin_manager, hookimpl

if TYPE_CHECKING:
    from click.testing import Result

click_testing = pytest.importorskip("click.testing")
eventual_cli = pytest.importorskip("eventual_cli")

ORDERS = Path(__file__).resolve().parents[3] / "examples" / "orders"


class _FilesTarget:
    """A plugin whose deploy target returns files, as the Pulumi target does."""

    settings: ClassVar[dict[str, object]] = {}

    @staticmethod
    @hookimpl
    def eventual_deploy_targets() -> list[DeployTarget]:
        def synthesize(service: object, settings: Mapping[str, object]) -> dict[str, str]:
            _FilesTarget.settings = dict(settings)
            return {"main.txt": f"deploy {service}", "nested/more.txt": "more"}

        return [DeployTarget(name="files", description="writes files", synthesize=synthesize)]


def _synth(args: list[str], monkeypatch: pytest.MonkeyPatch, project: Path = ORDERS) -> Result:
    monkeypatch.chdir(project)
    real = get_plugin_manager

    def with_files_target(**kwargs: Any) -> Any:
        return real(plugins=[_FilesTarget()])

    monkeypatch.setattr("eventual_aws._deploy._cli.get_plugin_manager", with_files_target)
    result: Result = click_testing.CliRunner().invoke(
        eventual_cli.cli, ["synth", *args], prog_name="eventual"
    )
    return result


def test_synth_writes_the_files_a_target_returns(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A target returning file contents gets them written under -o DIR, folders made."""
    result = _synth(["--target", "files", "-o", str(tmp_path / "out")], monkeypatch)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "main.txt").read_text() == "deploy orders.service"
    assert (tmp_path / "out" / "nested" / "more.txt").read_text() == "more"


def test_synth_hands_the_target_the_projects_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The target gets the project's src folder, the output folder and the flags given."""
    args = ["--target", "files", "-o", str(tmp_path), "--prefix", "shop", "--event-bus", "b"]
    assert _synth(args, monkeypatch).exit_code == 0
    settings = _FilesTarget.settings
    assert settings["source_dir"] == str(ORDERS / "src")
    assert (settings["outdir"], settings["prefix"], settings["event_bus"]) == (
        str(tmp_path),
        "shop",
        "b",
    )


def test_synth_without_a_known_target_names_the_ones_there_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``eventual synth --target helm`` fails with a message listing the targets."""
    result = _synth(["--target", "helm"], monkeypatch)
    assert result.exit_code != 0
    assert "files" in result.output


def test_synth_hands_the_target_the_projects_shard_counts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``aws_*_shards`` of ``[tool.eventual]`` are the target's ``shards``; a bad one is refused."""
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.eventual]\nservice = "orders.service"\naws_timer_shards = 2\naws_task_shards = "3"\n'
        "aws_outbox_shards = 4\n"
    )
    args = ["--target", "files", "-o", str(tmp_path / "out"), "--source-dir", str(ORDERS / "src")]
    assert _synth(args, monkeypatch, tmp_path).exit_code == 0
    assert _FilesTarget.settings["shards"] == {
        "timer_shards": 2,
        "task_shards": 3,
        "outbox_shards": 4,
    }
    pyproject.write_text('[tool.eventual]\nservice = "orders.service"\naws_task_shards = "x"\n')
    refused = _synth(args, monkeypatch, tmp_path)
    assert refused.exit_code == 1
    assert "aws_task_shards in [tool.eventual] must be an integer of 1 or more" in refused.output
