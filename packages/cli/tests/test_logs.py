"""eventual logs: an execution's kept lines, once or followed to the end."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import httpx
from click.testing import Result

from .conftest import RunCli


def _approve(run_cli: RunCli) -> str:
    name = uuid.uuid4().hex[:10]
    assert run_cli("start", "approve", json.dumps(name), "--name", name).exit_code == 0
    return f"approve/{name}"


def _wait_for_line(run_cli: RunCli, execution_id: str) -> None:
    deadline = time.monotonic() + 20
    while "waiting for approval" not in run_cli("logs", execution_id).stdout:
        assert time.monotonic() < deadline, "the first line was never kept"
        time.sleep(0.05)


def test_logs_prints_the_lines_kept_so_far(run_cli: RunCli) -> None:
    """Each line shows its sequence number, level and message; --json gives objects."""
    execution_id = _approve(run_cli)
    _wait_for_line(run_cli, execution_id)
    result = run_cli("logs", execution_id)
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert "#0" in line
    assert "INFO" in line
    assert line.endswith(f"waiting for approval of {execution_id.partition('/')[2]}")
    (entry,) = [
        json.loads(text) for text in run_cli("logs", execution_id, "--json").stdout.splitlines()
    ]
    assert (entry["execution_id"], entry["level"], entry["seq"]) == (execution_id, "INFO", 0)


def test_follow_prints_new_lines_until_the_end(run_cli: RunCli, live: Any) -> None:
    """--follow waits for lines logged later and returns once the execution ended."""
    execution_id = _approve(run_cli)
    _wait_for_line(run_cli, execution_id)
    followed: list[Result] = []
    follower = threading.Thread(target=lambda: followed.append(run_cli("logs", execution_id, "-f")))
    follower.start()
    time.sleep(0.3)
    assert follower.is_alive()  # held: the execution still runs
    # Over HTTP, not run_cli: CliRunner swaps sys.stdout for the whole process, and
    # would take the follower's output while it runs.
    sent = httpx.post(f"{live.url}/_eventual/executions/{execution_id}/signals/approval", json=True)
    assert sent.status_code == 202
    follower.join(timeout=30)
    assert not follower.is_alive()
    lines = followed[0].stdout.splitlines()
    assert [line.split()[-1] for line in lines] == [execution_id.partition("/")[2], "approved"]
    assert "WARNING" in lines[1]


def test_task_lines_name_their_task_and_attempt(run_cli: RunCli) -> None:
    """A task body's lines carry the task's name and attempt."""
    name = uuid.uuid4().hex[:10]
    order = json.dumps({"id": name, "items": ["pen"]})
    assert run_cli("start", "checkout", order, "--name", name, "--follow").exit_code == 0
    result = run_cli("logs", f"checkout/{name}")
    assert "price (attempt 1)" in result.stdout
    assert "pricing pen" in result.stdout


def test_an_unknown_execution_is_an_error(run_cli: RunCli) -> None:
    """Logs of an execution that does not exist fail with a message naming it."""
    result = run_cli("logs", "approve/nobody-here")
    assert result.exit_code != 0
    assert "approve/nobody-here" in result.output
