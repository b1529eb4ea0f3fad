"""Exactly-once publishing from a workflow across a SIGKILL between commit and delivery.

A child process runs a service on ``LocalRuntime`` with one SQLite file (engine
tables and bus tables together). Its workflow publishes an event; the child is
killed at a chosen point after the workflow step that published was committed,
and a second child on the same file finishes. The subscription must have handled
the event exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("eventual_engine")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

CHILD = textwrap.dedent(
    '''
    """Publish from a workflow; die once at CRASH_MODE; on the rerun, wait for delivery."""
    import asyncio
    import os
    import signal
    import time
    from datetime import timedelta

    from eventual import Service, event, subscription, workflow
    from eventual_engine import EngineOptions, LocalRuntime
    from eventual_messaging import LocalBus

    LOG = os.environ["CRASH_LOG"]
    MODE = os.environ["CRASH_MODE"]
    MARK = LOG + ".crashed"

    def log(line):
        with open(LOG, "a") as f:
            f.write(line + "\\n")
            f.flush()
            os.fsync(f.fileno())

    def crash_once():
        if not os.path.exists(MARK):
            open(MARK, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)

    shipped = event("Shipped", str)

    @subscription(shipped)
    async def record(order_id: str) -> None:
        log(f"handled {order_id}")

    @workflow
    async def ship(order_id: str) -> str:
        await shipped.publish(order_id)
        return "done"

    # The engine reads the committed step's event from the outbox and hands it to
    # the bus; die just before the bus stores it, or just after (the outbox entry is
    # then not yet acknowledged, so the restarted engine hands the same event again).
    publish = LocalBus.publish

    async def bus_publish(self, events):
        shipping = any(e.name == "Shipped" for e in events)
        if shipping and MODE == "before-bus-accepts":
            crash_once()
        await publish(self, events)
        if shipping and MODE == "after-bus-accepted":
            crash_once()

    LocalBus.publish = bus_publish

    async def main():
        options = EngineOptions(lease=timedelta(seconds=0.5), poll_interval=0.01)
        service = Service.from_definitions("crash", [shipped, record, ship])
        async with LocalRuntime(service, db=os.environ["CRASH_DB"], options=options) as rt:
            handle = await rt.start(ship, "o1", name="x")
            log(f"result {await handle.result()}")
            deadline = time.monotonic() + 30
            while "handled o1" not in open(LOG).read().splitlines():
                assert time.monotonic() < deadline, "never delivered"
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)  # room for a duplicate to show up

    asyncio.run(main())
    '''
)


def _run_child(tmp_path: Path, mode: str) -> int:
    script = tmp_path / "crash_child.py"
    script.write_text(CHILD)
    env = {
        **os.environ,
        "CRASH_LOG": str(tmp_path / "runs.log"),
        "CRASH_MODE": mode,
        "CRASH_DB": str(tmp_path / "state.db"),
    }
    return subprocess.run([sys.executable, str(script)], env=env, timeout=120).returncode


@pytest.mark.parametrize("mode", ["before-bus-accepts", "after-bus-accepted"])
def test_a_workflow_publish_is_handled_exactly_once_across_a_sigkill(
    tmp_path: Path, mode: str
) -> None:
    """Killed after the publishing step committed, the restarted service delivers it once."""
    assert _run_child(tmp_path, mode) == -signal.SIGKILL
    log = (tmp_path / "runs.log").read_text().splitlines()
    assert "handled o1" not in log  # the crash came before delivery
    assert _run_child(tmp_path, mode) == 0
    log = (tmp_path / "runs.log").read_text().splitlines()
    assert log.count("handled o1") == 1
    assert "result done" in log
