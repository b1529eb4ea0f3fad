"""The ``sst`` deploy target and ``eventual sst add``, contributed by the plugin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from eventual.plugins import Plugins, get_plugin_manager
from eventual_sst import component_source

if TYPE_CHECKING:
    from click.testing import Result

click_testing = pytest.importorskip("click.testing")
eventual_cli = pytest.importorskip("eventual_cli")
ORDERS = Path(__file__).resolve().parents[3] / "examples" / "orders"


def test_loading_the_plugin_imports_no_click() -> None:
    """Finding the plugin costs nothing: click loads only when the CLI asks for commands."""
    code = (
        "import sys, eventual_sst._plugin as p; p.eventual_deploy_targets();"
        "print('click' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_sst_is_a_deploy_target_returning_an_app() -> None:
    """The ``sst`` target returns an SST app: a config creating the service, and the component."""
    target = Plugins(get_plugin_manager()).deploy_target("sst")
    files = target.synthesize(
        "orders.service", {"source_dir": str(ORDERS / "src"), "prefix": "shop"}
    )
    assert isinstance(files, dict)
    assert files["infra/eventual.ts"] == component_source()
    config = files["sst.config.ts"]
    assert 'new EventualService("Orders"' in config
    assert f'"path": "{ORDERS.as_posix()}"' in config
    assert '"prefix": "shop"' in config


def test_eventual_sst_add_prints_the_lines(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """In an SST app, ``eventual sst add --path DIR`` writes the component and prints its use."""
    (tmp_path / "sst.config.ts").write_text("export default $config({});\n")
    monkeypatch.chdir(tmp_path)
    result: Result = click_testing.CliRunner().invoke(
        eventual_cli.cli, ["sst", "add", "--path", str(ORDERS)], prog_name="eventual"
    )
    assert result.exit_code == 0, result.output
    assert "wrote infra/eventual.ts" in result.output
    assert 'new EventualService("Orders", { service: "orders.service"' in result.output
    assert (tmp_path / "infra" / "eventual.ts").read_text() == component_source()


def test_eventual_sst_add_outside_an_app_says_where_to_run_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without sst.config.ts in the folder, the command fails naming it."""
    monkeypatch.chdir(tmp_path)
    result: Result = click_testing.CliRunner().invoke(
        eventual_cli.cli, ["sst", "add", "--service", "orders.service"], prog_name="eventual"
    )
    assert result.exit_code == 2
    assert "sst.config.ts" in result.output
    assert not (tmp_path / "infra").exists()
