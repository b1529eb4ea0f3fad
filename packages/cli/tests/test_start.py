"""eventual start against a live eventual local: input forms, --follow and its exit code."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

RunCli = Callable[..., Result]


def _name() -> str:
    return uuid.uuid4().hex[:10]


def test_start_prints_the_id(run_cli: RunCli) -> None:
    """Starting with inline JSON and --name prints the execution id."""
    name = _name()
    result = run_cli(
        "start", "checkout", json.dumps({"id": name, "items": ["pen"]}), "--name", name
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"started checkout/{name}"


def test_start_json_and_same_name_again(run_cli: RunCli) -> None:
    """--json prints {"id": ...}; starting again with the same name and input returns it again."""
    name = _name()
    args = ("start", "wrap", '"pen"', "--name", name, "--json")
    first, again = run_cli(*args), run_cli(*args)
    assert json.loads(first.stdout) == {"id": f"wrap/{name}"}
    assert json.loads(again.stdout) == {"id": f"wrap/{name}"}


def test_follow_streams_events_and_exits_zero(run_cli: RunCli) -> None:
    """--follow prints each history event once, in order, and exits 0 when it succeeds."""
    name = _name()
    order = json.dumps({"id": name, "items": ["book", "pen"]})
    result = run_cli("start", "checkout", order, "--name", name, "--follow")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    kinds = [
        line.split()[2] if line.split()[1].startswith("#") else line.split()[1]
        for line in lines[:-1]
    ]
    assert kinds[0] == "WorkflowStarted"
    assert kinds.count("TaskScheduled") == 3
    assert "TaskRetryScheduled" in kinds
    assert kinds.index("TimerScheduled") < kinds.index("TimerFired")
    assert kinds[-1] == "WorkflowSucceeded"
    assert f"{name}: 14 (wrapped book)" in lines[-2]
    assert lines[-1] == "SUCCEEDED"


def test_follow_json_lines_and_failure_exit_code(run_cli: RunCli) -> None:
    """--follow --json prints one event per line; a failed execution exits 1 with its error."""
    result = run_cli("start", "doomed", '"out of stock"', "--follow", "--json")
    assert result.exit_code == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["type"] for e in events] == [
        "WorkflowStarted",
        "TimerScheduled",
        "TimerFired",
        "WorkflowFailed",
    ]
    assert "ended FAILED: ValueError: out of stock" in result.stderr
    assert "Traceback" not in result.output


def test_input_from_file_and_stdin(run_cli: RunCli, tmp_path: Path) -> None:
    """-f FILE and `-` (standard input) give the input."""
    name = _name()
    path = tmp_path / "order.json"
    path.write_text(json.dumps({"id": name, "items": ["lamp"]}), encoding="utf-8")
    from_file = run_cli("start", "checkout", "-f", str(path), "--name", name, "--follow", "--json")
    assert from_file.exit_code == 0, from_file.output
    assert json.loads(from_file.stdout.splitlines()[-1])["result"] == f"{name}: 30 (wrapped lamp)"
    from_stdin = run_cli("start", "wrap", "-", "--follow", "--json", input='"cup"\n')
    assert json.loads(from_stdin.stdout.splitlines()[-1])["result"] == "wrapped cup"


def test_user_errors_are_one_line(run_cli: RunCli) -> None:
    """Unknown workflows, bad JSON and bad input each get one clear line and a non-zero exit."""
    unknown = run_cli("start", "nope")
    assert unknown.exit_code == 1
    assert "no workflow named 'nope'" in unknown.stderr
    assert "checkout" in unknown.stderr  # the known ones are listed
    bad_json = run_cli("start", "wrap", "pen")
    assert bad_json.exit_code == 2
    assert "INPUT is not JSON" in bad_json.stderr
    assert "'\"pen\"'" in bad_json.stderr
    wrong_type = run_cli("start", "checkout", '{"id": 3, "items": []}')
    assert wrong_type.exit_code == 1
    assert "body.input.id: expected str, got 3 (HTTP 400)" in wrong_type.stderr
    both = run_cli("start", "wrap", '"a"', "-f", __file__)
    assert both.exit_code == 2
    assert "not both" in both.stderr
    for result in (unknown, bad_json, wrong_type, both):
        assert "Traceback" not in result.output
    for result in (unknown, bad_json, wrong_type):
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith("Error: ")
