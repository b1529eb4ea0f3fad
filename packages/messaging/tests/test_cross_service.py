"""Two services in two processes share one bus file and receive each other's events."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("eventual_engine")


def test_two_services_in_separate_processes_receive_each_others_events(
    tmp_path: Path, services_path: Path
) -> None:
    """Billing's InvoicePaid reaches shipping, whose ParcelShipped reaches billing, by name."""
    shared = tmp_path / "bus.db"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(services_path), os.environ.get("PYTHONPATH", "")]),
        "PEER_LOG": str(tmp_path / "peers.log"),
        "PEER_DIR": str(tmp_path),
    }
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                str(services_path / "run_peer.py"),
                name,
                str(tmp_path / f"{name}.db"),
                str(shared),
            ],
            env=env,
        )
        for name in ("billing", "shipping")
    ]
    codes = [p.wait(120) for p in processes]
    assert codes == [0, 0]
    log = (tmp_path / "peers.log").read_text().splitlines()
    assert sorted(log) == [
        "billing received ParcelShipped p-inv-1 for inv-1",
        "shipping received InvoicePaid inv-1",  # the zero-cent invoice was filtered out
    ]
    # Each service kept its executions in its own file; only the bus was shared.
    assert (tmp_path / "billing.db").exists()
    assert (tmp_path / "shipping.db").exists()
