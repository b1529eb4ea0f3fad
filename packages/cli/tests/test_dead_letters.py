"""dead-letters against a live eventual local: list, redrive some, usage."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from click.testing import Result

RunCli = Callable[..., Result]


def _letter_for(run_cli: RunCli, order_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        letters = json.loads(run_cli("dead-letters", "--json", "--limit", "1000").stdout)
        for letter in letters:
            if letter["event"]["payload"] == {"order_id": order_id}:
                found: dict[str, Any] = letter
                return found
        assert time.monotonic() < deadline, "no dead letter appeared"
        time.sleep(0.1)


def test_list_and_redrive(run_cli: RunCli) -> None:
    """A failing subscription's event is listed, and --redrive ID delivers it again."""
    order_id = uuid.uuid4().hex[:10]
    assert run_cli("publish", "shipped", json.dumps({"order_id": order_id})).exit_code == 0
    letter = _letter_for(run_cli, order_id)
    assert (letter["subscription"], letter["error_type"]) == ("audit", "RuntimeError")
    table = run_cli("dead-letters")
    assert table.exit_code == 0, table.output
    assert letter["id"] in table.stdout
    assert f"audit is down, {order_id} not audited" in table.stdout
    redriven = run_cli("dead-letters", "--redrive", letter["id"], "--json")
    assert redriven.exit_code == 0, redriven.output
    assert json.loads(redriven.stdout) == {"redriven": 1}
    # The subscription fails again, so the event comes back, failed at a later time.
    deadline = time.monotonic() + 20
    while _letter_for(run_cli, order_id)["failed_at"] == letter["failed_at"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_redrive_all_and_ids_without_redrive(run_cli: RunCli) -> None:
    """--redrive alone redrives everything; ids without --redrive are a usage error."""
    order_id = uuid.uuid4().hex[:10]
    run_cli("publish", "shipped", json.dumps({"order_id": order_id}))
    _letter_for(run_cli, order_id)
    everything = run_cli("dead-letters", "--redrive")
    assert everything.exit_code == 0, everything.output
    assert "redrove" in everything.stderr
    misuse = run_cli("dead-letters", "some-id")
    assert misuse.exit_code == 2
    assert "only taken with --redrive" in misuse.stderr
