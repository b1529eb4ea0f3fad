"""The Lambda runtime: cheap handler imports, runtimes per configuration, crash points, logs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from eventual_aws._lambda import KINDS, invoke_async
from eventual_aws._lambda._faults import Faults, InjectedCrash
from eventual_aws._lambda._log import ContextFilter, JsonFormatter, log_context

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
FORBIDDEN = ("aws_cdk", "pulumi", "click", "uvicorn", "rich")

_PROBE = """
import json, sys
import eventual_aws.handlers.{kind} as module
assert callable(module.handler)
before = sorted({{m.split(".")[0] for m in sys.modules}})
from eventual_aws._lambda import runtime_for
runtime = runtime_for({{
    "EVENTUAL_SERVICE": "orders.service",
    "EVENTUAL_AWS_TABLE": "t", "EVENTUAL_AWS_BUCKET": "b",
    "EVENTUAL_AWS_EVENT_BUS_NAME": "bus", "EVENTUAL_AWS_QUEUE_PREFIX": "orders",
    "EVENTUAL_AWS_WORKFLOW_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/orders-workflow.fifo",
    "AWS_REGION": "us-east-1",
}})
runtime.app
after = sorted({{m.split(".")[0] for m in sys.modules}})
print(json.dumps([before, after, sorted(runtime.backend.clients.created)]))
"""


@pytest.mark.parametrize("kind", KINDS)
def test_a_handler_imports_no_deploy_or_cli_library(kind: str) -> None:
    """A built handler loads no aws-cdk-lib, pulumi, click, uvicorn or rich, and no boto3 client."""
    env = {"PYTHONPATH": str(EXAMPLES / "orders" / "src"), "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(kind=kind)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    before, after, created = json.loads(done.stdout.strip().splitlines()[-1])
    assert not [name for name in after if name in FORBIDDEN]
    # boto3 clients wait for the first call that needs them.
    assert created == []
    # The handler module itself defers boto3 and the engine to the first invocation.
    assert "boto3" not in before
    assert "eventual_engine" not in before
    assert "boto3" in after


async def test_an_unknown_kind_is_refused_naming_the_kinds() -> None:
    """Invoking a kind the plan does not have says which kinds exist."""
    with pytest.raises(ValueError, match=r"no function kind 'cron'.*orchestrator"):
        await invoke_async("cron", {}, None, {})


def test_an_armed_crash_point_raises_once() -> None:
    """An armed point crashes the next pass only; an unknown point is refused by name."""
    faults = Faults()
    faults.arm("task.ran")
    with pytest.raises(InjectedCrash):
        faults.reach("task.ran")
    faults.reach("task.ran")
    with pytest.raises(ValueError, match=r"no crash point 'task\.nowhere'"):
        faults.arm("task.nowhere")


def test_log_lines_are_json_with_the_execution_in_hand() -> None:
    """A record logged inside a handler's context is one JSON object carrying its fields."""
    record = logging.LogRecord(
        "eventual.engine", logging.INFO, __file__, 1, "step %s", ("ok",), None
    )
    with log_context(execution_id="wf/a", seq=3, ignored=None):
        ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "step ok"
    assert (line["execution_id"], line["seq"], line["level"]) == ("wf/a", 3, "INFO")
    assert "ignored" not in line
