"""eventual replay: live, exported and older histories, a divergence, and --break-at."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from eventual_cli import cli
from eventual_engine.conformance import histories

RunCli = Callable[..., Result]
# The engine's recorded histories, and the workflows that recorded them.
HISTORIES = histories.FOLDER
COMPAT_SHOP = histories.COMPAT_SHOP
INVOICING_V2 = f"{histories.__name__}.versions.invoicing_v2"


def _replay(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        cli, ["replay", *args], input=input, env={"COLUMNS": "200", **(env or {})}
    )


def _checkout(run_cli: RunCli) -> str:
    name = uuid.uuid4().hex[:10]
    order = json.dumps({"id": name, "items": ["book", "pen"]})
    assert run_cli("start", "checkout", order, "--name", name, "--follow").exit_code == 0
    return f"checkout/{name}"


@pytest.mark.usefixtures("services_path")
def test_replays_an_exported_live_run(run_cli: RunCli, tmp_path: Path) -> None:
    """A history exported from eventual local (tasks, a retry, a timer, a child) replays."""
    execution_id = _checkout(run_cli)
    path = tmp_path / "history.json"
    assert run_cli("export", execution_id, "-o", str(path)).exit_code == 0
    result = _replay("--file", str(path), "--service", "shopdemo")
    assert result.exit_code == 0, result.output
    assert f"✓ {execution_id}: replayed" in result.stdout
    assert "SUCCEEDED" in result.stdout
    named = _replay(execution_id, "--file", str(path), "--service", "shopdemo", "--json")
    data = json.loads(named.stdout)
    assert (data["ok"], data["status"], data["execution_id"]) == (True, "SUCCEEDED", execution_id)
    assert data["result"] == f"{execution_id.partition('/')[2]}: 14 (wrapped book)"
    piped = _replay("--file", "-", "--service", "shopdemo", input=path.read_text())
    assert piped.exit_code == 0, piped.output


@pytest.mark.usefixtures("services_path")
def test_replays_from_the_service_and_from_its_database(run_cli: RunCli, live: Any) -> None:
    """--url reads the history from the system API, --db straight from the SQLite file."""
    execution_id = _checkout(run_cli)
    over_http = _replay(execution_id, "--url", live.url, "--service", "shopdemo")
    assert over_http.exit_code == 0, over_http.output
    from_env = _replay(execution_id, "--service", "shopdemo", env={"EVENTUAL_URL": live.url})
    assert from_env.exit_code == 0, from_env.output
    from_db = _replay(execution_id, "--db", str(live.db), "--service", "shopdemo")
    assert from_db.exit_code == 0, from_db.output
    assert "✓" in from_db.stdout


@pytest.mark.usefixtures("services_path")
@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
def test_histories_recorded_by_older_code_replay(path: Path) -> None:
    """Each history the engine's compatibility suite keeps replays against the same workflows."""
    result = _replay("--file", str(path), "--service", COMPAT_SHOP, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert data["status"] == data["recorded_status"] != "RUNNING"


def test_replay_reports_the_patches_an_execution_took() -> None:
    """Version 2 of the invoicing service replays both recordings, naming the patches taken."""
    old = _replay(
        "--file", str(HISTORIES / "versions" / "invoice_v1.json"), "--service", INVOICING_V2
    )
    assert old.exit_code == 0, old.output
    assert "patches taken: none" in old.stdout
    new = _replay(
        "--file", str(HISTORIES / "versions" / "invoice_v2.json"), "--service", INVOICING_V2
    )
    assert new.exit_code == 0, new.output
    assert "patches taken: email" in new.stdout
    data = json.loads(
        _replay(
            "--file",
            str(HISTORIES / "versions" / "invoice_v2.json"),
            "--service",
            INVOICING_V2,
            "--json",
        ).stdout
    )
    assert data["patches"] == ["email"]


@pytest.mark.usefixtures("services_path")
def test_a_changed_call_shows_the_divergence_side_by_side() -> None:
    """Changed code fails with the sequence number and the recorded and new call, exit 1."""
    result = _replay("--file", str(HISTORIES / "sequential.json"), "--service", "compat_changed")
    assert result.exit_code == 1
    out = result.stdout
    assert "diverges at seq 2" in out
    header = next(line for line in out.splitlines() if "recorded" in line and "now" in line)
    assert header.index("seq") < header.index("recorded") < header.index("now")
    row = next(line for line in out.splitlines() if line.strip("│ ").startswith("2 "))
    assert "add_one" in row.split("│")[2]
    assert "add_two" in row.split("│")[3]
    data = json.loads(
        _replay(
            "--file", str(HISTORIES / "sequential.json"), "--service", "compat_changed", "--json"
        ).stdout
    )
    assert (data["ok"], data["error_seq"]) == (False, 2)
    assert data["recorded_call"] != data["new_call"]


@pytest.mark.usefixtures("services_path")
def test_a_different_outcome_is_reported() -> None:
    """Same calls but another result: the outcome row shows both, exit 1."""
    result = _replay("--file", str(HISTORIES / "publish.json"), "--service", "compat_changed")
    assert result.exit_code == 1
    assert "ends differently" in result.stdout
    assert "the history records the result 4, the code now returns 40" in result.stdout


@pytest.mark.usefixtures("services_path")
def test_break_at_calls_the_debugger_at_that_sequence_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--break-at SEQ calls the PYTHONBREAKPOINT hook once, inside the workflow's call stack."""
    monkeypatch.setenv("PYTHONBREAKPOINT", "breakpoints.record")
    breakpoints = importlib.import_module("breakpoints")
    calls: list[str] = breakpoints.calls
    calls.clear()
    path = str(HISTORIES / "sequential.json")
    result = _replay("--file", path, "--service", COMPAT_SHOP, "--break-at", "2")
    assert result.exit_code == 0, result.output
    assert len(calls) == 1
    assert "sequential_tasks" in calls[0]
    assert "never made" not in result.stderr
    calls.clear()
    assert _replay("--file", path, "--service", COMPAT_SHOP).exit_code == 0
    assert calls == []
    beyond = _replay("--file", path, "--service", COMPAT_SHOP, "--break-at", "99", "--json")
    assert beyond.exit_code == 0, beyond.output
    assert calls == []
    assert json.loads(beyond.stdout)["stopped_at"] is None
    assert "--break-at 99: the code never made the call with sequence number 99" in (beyond.stderr)


def test_break_at_opens_pdb_in_the_workflows_own_frame(tmp_path: Path) -> None:
    """With pdb, --break-at SEQ opens at the workflow's line making that call, locals at hand."""
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("PYTHONBREAKPOINT", None)
    path = str(HISTORIES / "sequential.json")
    args = ["replay", "--file", path, "--service", COMPAT_SHOP, "--break-at", "2"]
    result = subprocess.run(
        [sys.executable, "-m", "eventual_cli", *args],
        input="p total\ncontinue\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    frames = re.findall(r"> (\S+)\(\d+\)(\w+)\(\)", result.stdout)
    assert frames == [(str(HISTORIES / "compat_shop.py"), "sequential_tasks")]
    assert "-> total = await add_one(total)" in result.stdout
    assert "(Pdb) 1\n" in result.stdout  # total after the first call


@pytest.mark.usefixtures("services_path")
def test_user_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No service, a missing module or file, two sources, a mismatched id: one line each."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EVENTUAL_SERVICE", raising=False)
    path = str(HISTORIES / "sequential.json")
    cases = {
        ("--file", path): "no service to replay against",
        ("--file", path, "--service", "no_such_module_x"): "no_such_module_x",
        ("--file", str(tmp_path / "none.json"), "--service", COMPAT_SHOP): "cannot read",
        ("x/1", "--db", str(tmp_path / "none.db"), "--service", COMPAT_SHOP): "no database",
        ("x/1", "--db", "a.db", "--file", path): "one place",
        ("other/1", "--file", path, "--service", COMPAT_SHOP): "not 'other/1'",
        ("--service", COMPAT_SHOP): "give the execution ID",
        ("--file", __file__, "--service", COMPAT_SHOP): "not JSON",
    }
    for args, message in cases.items():
        result = _replay(*args)
        assert result.exit_code in (1, 2), (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
    assert not (tmp_path / "none.db").exists()
