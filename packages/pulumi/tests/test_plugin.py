"""The ``pulumi`` deploy target, found through the ``eventual`` entry points."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from eventual import Service as EventualService
from eventual.plugins import Plugins, get_plugin_manager
from eventual_aws import plan

if TYPE_CHECKING:
    from click.testing import Result


def test_loading_the_plugin_imports_no_pulumi() -> None:
    """Finding the plugin, as every ``eventual`` command does, imports neither pulumi nor click."""
    code = (
        "import sys, eventual_pulumi._plugin as p; p.eventual_deploy_targets();"
        "print(sorted(m for m in ('pulumi', 'pulumi_aws', 'click') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_pulumi_target_is_registered_by_its_entry_point() -> None:
    """Installing eventual-pulumi offers the `pulumi` deploy target."""
    plugins = Plugins(get_plugin_manager(autoload=True))
    assert "pulumi" in plugins.deploy_targets()


def test_the_target_writes_a_pulumi_project_for_the_service(orders_src: Path) -> None:
    """The artifact is a Pulumi project whose program deploys the service, and its plan."""
    target = Plugins(get_plugin_manager(autoload=True)).deploy_target("pulumi")
    service = EventualService.load("orders.service")
    files = target.synthesize(
        service, {"source_dir": str(orders_src), "outdir": str(orders_src.parent / "deploy")}
    )
    assert isinstance(files, dict)
    assert set(files) == {"Pulumi.yaml", "__main__.py", "requirements.txt", "plan.json"}
    assert "name: orders\n" in files["Pulumi.yaml"]
    program = files["__main__.py"]
    ast.parse(program)
    assert "Path(__file__).resolve().parent / '../src'" in program
    assert "Service('orders', service='orders.service', source_dir=SOURCE_DIR)" in program
    planned = json.loads(files["plan.json"])
    assert {f["name"] for f in planned["functions"]} == {f.name for f in plan(service).functions}


def test_the_targets_program_and_plan_have_the_shard_counts(orders_src: Path) -> None:
    """The ``shards`` setting (the project's ``aws_*_shards``) is the program's and the plan's."""
    target = Plugins(get_plugin_manager(autoload=True)).deploy_target("pulumi")
    files = target.synthesize(
        "orders.service", {"source_dir": str(orders_src), "shards": {"listing_shards": 4}}
    )
    assert isinstance(files, dict)
    program = files["__main__.py"]
    ast.parse(program)
    assert "source_dir=SOURCE_DIR, shards={'listing_shards': 4})" in program
    planned = json.loads(files["plan.json"])
    variables = {f["environment"]["EVENTUAL_AWS_LISTING_SHARDS"] for f in planned["functions"]}
    assert variables == {"4"}


def test_eventual_synth_writes_the_project_offline(
    monkeypatch: pytest.MonkeyPatch, orders_src: Path, tmp_path: Path
) -> None:
    """``eventual synth --target pulumi -o DIR`` writes a runnable program naming the prefix."""
    click_testing = pytest.importorskip("click.testing")
    eventual_cli = pytest.importorskip("eventual_cli")
    monkeypatch.chdir(orders_src.parent)
    outdir = tmp_path / "deploy"
    result: Result = click_testing.CliRunner().invoke(
        eventual_cli.cli,
        ["synth", "--target", "pulumi", "-o", str(outdir), "--prefix", "shop"],
        prog_name="eventual",
    )
    assert result.exit_code == 0, result.output
    program = (outdir / "__main__.py").read_text()
    assert "prefix='shop'" in program
    (line,) = [line for line in program.splitlines() if line.startswith("SOURCE_DIR = ")]
    namespace: dict[str, object] = {"__file__": str(outdir / "__main__.py"), "Path": Path}
    exec(line, namespace)  # the program's own computation of the service's folder
    source_dir = namespace["SOURCE_DIR"]
    assert isinstance(source_dir, Path)
    assert source_dir.resolve() == orders_src.resolve()
    planned = json.loads((outdir / "plan.json").read_text())
    assert all(f["physical_name"].startswith("shop-") for f in planned["functions"])


def test_the_target_refuses_a_service_without_a_module() -> None:
    """A service built from definitions, not a module, cannot be deployed from a program."""
    target = Plugins(get_plugin_manager(autoload=True)).deploy_target("pulumi")
    with pytest.raises(ValueError, match="loaded from a module"):
        target.synthesize(object(), {})
