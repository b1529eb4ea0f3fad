"""executions, execution, history and export against a live eventual local."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from eventual.history import TaskScheduled, WorkflowStarted, WorkflowSucceeded
from eventual_engine import history_from_json

RunCli = Callable[..., Result]


def _finished_checkout(run_cli: RunCli) -> str:
    name = uuid.uuid4().hex[:10]
    order = json.dumps({"id": name, "items": ["book"]})
    result = run_cli("start", "checkout", order, "--name", name, "--follow", "--json")
    assert result.exit_code == 0, result.output
    return f"checkout/{name}"


def test_executions_lists_with_filters(run_cli: RunCli) -> None:
    """--workflow, --status and --limit filter the list; the table and --json show the ids."""
    done = _finished_checkout(run_cli)
    table = run_cli("executions", "--workflow", "checkout", "--status", "succeeded")
    assert table.exit_code == 0, table.output
    assert done in table.stdout
    assert "SUCCEEDED" in table.stdout
    assert "wrap/" not in table.stdout
    records = json.loads(run_cli("executions", "--json", "--limit", "500").stdout)
    assert done in [r["id"] for r in records]
    assert {r["workflow"] for r in records} >= {"checkout", "wrap"}
    one = json.loads(run_cli("executions", "--json", "--limit", "1").stdout)
    assert len(one) == 1
    none = run_cli("executions", "--workflow", "approve", "--status", "TIMED_OUT")
    assert none.exit_code == 0
    assert "no executions match" in none.stderr


def test_execution_shows_status_input_and_result(run_cli: RunCli) -> None:
    """`execution ID` shows status, input and result; --json gives the record."""
    done = _finished_checkout(run_cli)
    shown = run_cli("execution", done)
    assert shown.exit_code == 0, shown.output
    for text in ("SUCCEEDED", '"items"', "(wrapped book)", "duration"):
        assert text in shown.stdout
    record = json.loads(run_cli("execution", done, "--json").stdout)
    assert record["status"] == "SUCCEEDED"
    assert record["input"]["items"] == ["book"]


def test_execution_wait_long_polls_to_the_end(run_cli: RunCli) -> None:
    """--wait returns the ended record of an execution that was still running."""
    started = json.loads(run_cli("start", "doomed", '"late"', "--json").stdout)
    record = json.loads(run_cli("execution", started["id"], "--wait", "20", "--json").stdout)
    assert (record["status"], record["error_type"]) == ("FAILED", "ValueError")


def test_history_table_and_json(run_cli: RunCli) -> None:
    """`history ID` shows every event with its sequence number; --json gives the events."""
    done = _finished_checkout(run_cli)
    table = run_cli("history", done)
    assert table.exit_code == 0, table.output
    assert f'reserve("{done.partition("/")[2]}", "book")' in table.stdout
    assert "TaskRetryScheduled" in table.stdout
    events = json.loads(run_cli("history", done, "--json").stdout)
    assert events[0]["type"] == "WorkflowStarted"
    assert events[-1]["type"] == "WorkflowSucceeded"


def test_unknown_or_malformed_ids(run_cli: RunCli) -> None:
    """A missing execution is a one-line 404; an id without a slash is a usage error."""
    missing = run_cli("history", "checkout/never")
    assert missing.exit_code == 1
    assert "no execution 'checkout/never'" in missing.stderr
    malformed = run_cli("execution", "never")
    assert malformed.exit_code == 2
    assert "expected WORKFLOW/NAME" in malformed.stderr


def test_export_writes_a_history_document(run_cli: RunCli, tmp_path: Path) -> None:
    """Export prints the history_to_json document, or writes it with -o."""
    done = _finished_checkout(run_cli)
    printed = run_cli("export", done)
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["execution_id"] == done
    history = history_from_json(printed.stdout)
    assert isinstance(history[0], WorkflowStarted)
    assert isinstance(history[-1], WorkflowSucceeded)
    assert [e.task for e in history if isinstance(e, TaskScheduled)] == ["price", "reserve"]
    path = tmp_path / "history.json"
    written = run_cli("export", done, "-o", str(path))
    assert written.exit_code == 0
    assert path.read_text(encoding="utf-8") == printed.stdout
    assert f"to {path}" in written.stderr
    nowhere = run_cli("export", done, "-o", str(tmp_path / "missing" / "history.json"))
    assert nowhere.exit_code == 1
    assert nowhere.stderr.startswith(f"Error: cannot write {tmp_path / 'missing'}")
    assert len(nowhere.stderr.splitlines()) == 1
