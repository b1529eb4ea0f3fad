"""signal, cancel, publish, call, complete-task and fail-task against a live eventual local."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from eventual_cli import cli

RunCli = Callable[..., Result]


def _start(run_cli: RunCli, workflow: str, input: Any) -> str:
    result = run_cli(
        "start", workflow, json.dumps(input), "--name", uuid.uuid4().hex[:10], "--json"
    )
    assert result.exit_code == 0, result.output
    execution_id: str = json.loads(result.stdout)["id"]
    return execution_id


def _ended(run_cli: RunCli, execution_id: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(
        run_cli("execution", execution_id, "--wait", "20", "--json").stdout
    )
    return record


def _token(path: Path) -> str:
    deadline = time.monotonic() + 20
    while not path.exists() or not path.read_text(encoding="utf-8"):
        assert time.monotonic() < deadline, "the task never left its token"
        time.sleep(0.05)
    return path.read_text(encoding="utf-8")


def test_signal_reaches_the_execution(run_cli: RunCli) -> None:
    """`signal ID SIGNAL PAYLOAD` delivers the payload the workflow waits for."""
    execution_id = _start(run_cli, "approve", "o-7")
    sent = run_cli("signal", execution_id, "approval", "true")
    assert sent.exit_code == 0, sent.output
    assert f"sent approval to {execution_id}" in sent.stderr
    assert _ended(run_cli, execution_id)["result"] == "o-7 approved"
    late = run_cli("signal", execution_id, "approval", "true")
    assert late.exit_code == 0
    assert f"not sent: execution '{execution_id}' has ended (SUCCEEDED)" in late.stderr


def test_signal_errors(run_cli: RunCli) -> None:
    """An unknown signal and a payload of the wrong type are one-line errors."""
    execution_id = _start(run_cli, "approve", "o-8")
    unknown = run_cli("signal", execution_id, "nosuch", "true")
    assert unknown.exit_code == 1
    assert "no signal named 'nosuch'" in unknown.stderr
    wrong = run_cli("signal", execution_id, "approval", '"yes"', "--json")
    assert wrong.exit_code == 1
    assert "HTTP 400" in wrong.stderr
    run_cli("cancel", execution_id)


def test_cancel(run_cli: RunCli) -> None:
    """`cancel ID` ends a waiting execution as CANCELLED; --json prints the API's answer."""
    execution_id = _start(run_cli, "approve", "o-9")
    cancelled = run_cli("cancel", execution_id, "--json")
    assert cancelled.exit_code == 0, cancelled.output
    assert json.loads(cancelled.stdout) == {"accepted": True}
    assert _ended(run_cli, execution_id)["status"] == "CANCELLED"


def test_call_a_command(run_cli: RunCli) -> None:
    """`call COMMAND INPUT` prints what the command returns; an unknown command is named."""
    called = run_cli("call", "quote", '["book", "pen"]')
    assert called.exit_code == 0, called.output
    assert called.stdout == "14\n"
    assert json.loads(run_cli("call", "quote", '["lamp"]', "--json").stdout) == 30
    unknown = run_cli("call", "nope", "1")
    assert unknown.exit_code == 1
    assert "has no command 'nope'" in unknown.stderr
    bad = run_cli("call", "quote", '"book"')
    assert bad.exit_code == 1
    assert "HTTP 400" in bad.stderr


def test_publish_checks_payloads(run_cli: RunCli) -> None:
    """`publish EVENT PAYLOAD...` publishes each payload; a bad one is refused with its index."""
    published = run_cli("publish", "shipped", '{"order_id": "p1"}', '{"order_id": "p2"}')
    assert published.exit_code == 0, published.output
    assert "published 2 shipped events" in published.stderr
    bad = run_cli("publish", "shipped", '{"order_id": "p3"}', "{}")
    assert bad.exit_code == 1
    assert "body[1]" in bad.stderr
    unknown = run_cli("publish", "nope", "{}")
    assert "no event named 'nope'" in unknown.stderr


def test_complete_task(run_cli: RunCli, tmp_path: Path) -> None:
    """complete-task TOKEN RESULT finishes a task that completes asynchronously."""
    token_file = tmp_path / "token"
    execution_id = _start(run_cli, "warehouse", str(token_file))
    done = run_cli("complete-task", _token(token_file), '"picked"')
    assert done.exit_code == 0, done.output
    assert _ended(run_cli, execution_id)["result"] == "picked"


def test_fail_task(run_cli: RunCli, tmp_path: Path) -> None:
    """fail-task TOKEN ERROR --type fails it; the workflow sees that error type and message."""
    token_file = tmp_path / "token"
    execution_id = _start(run_cli, "warehouse", str(token_file))
    failed = run_cli("fail-task", _token(token_file), "shelf empty", "--type", "OutOfStock")
    assert failed.exit_code == 0, failed.output
    record = _ended(run_cli, execution_id)
    assert record["status"] == "FAILED"
    assert "OutOfStock" in f"{record['error_type']} {record['message']}"
    assert "shelf empty" in record["message"]
    malformed = run_cli("complete-task", "not-a-token")
    assert malformed.exit_code == 1
    assert "not a task token" in malformed.stderr


def test_unreachable_service() -> None:
    """A service that does not answer is one line naming the URL, exit 1, no traceback."""
    result = CliRunner().invoke(cli, ["executions", "--url", "http://127.0.0.1:9"], env={})
    assert result.exit_code == 1
    assert "cannot reach the service at http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.output


def test_token_is_required_and_sent(secured: Any) -> None:
    """Without a token the error says how to give one; --token and EVENTUAL_TOKEN work."""
    runner = CliRunner()
    refused = runner.invoke(cli, ["executions", "--url", secured.url], env={"EVENTUAL_TOKEN": ""})
    assert refused.exit_code == 1
    assert "needs a token" in refused.stderr
    assert "--token" in refused.stderr
    wrong = runner.invoke(cli, ["executions", "--url", secured.url, "--token", "guess"])
    assert wrong.exit_code == 1
    assert "refused the token" in wrong.stderr
    flag = runner.invoke(cli, ["executions", "--url", secured.url, "--token", "s3cret", "--json"])
    assert flag.exit_code == 0, flag.output
    env = {"EVENTUAL_URL": secured.url, "EVENTUAL_TOKEN": "s3cret"}
    assert runner.invoke(cli, ["call", "quote", '["pen"]'], env=env).stdout == "2\n"
