"""Run billing or shipping in its own process against a shared bus file.

Usage: ``python run_peer.py SERVICE OWN_DB BUS_DB``, with ``PEER_LOG`` and
``PEER_DIR`` in the environment. The process writes ``PEER_DIR/SERVICE.ready``
once attached, waits for the other service's marker, publishes, and exits when
the log shows both directions delivered.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from eventual_engine import EngineOptions, LocalRuntime

SERVICE, OWN_DB, BUS_DB = sys.argv[1:4]
PEER_DIR = Path(os.environ["PEER_DIR"])
LOG = Path(os.environ["PEER_LOG"])
OTHER = "shipping" if SERVICE == "billing" else "billing"
DONE = ("billing received ParcelShipped p-inv-1 for inv-1", "shipping received InvoicePaid inv-1")


async def main() -> None:
    options = EngineOptions(poll_interval=0.02, lease=timedelta(seconds=2))
    async with LocalRuntime(SERVICE, db=OWN_DB, bus_db=BUS_DB, options=options) as runtime:
        (PEER_DIR / f"{SERVICE}.ready").touch()
        deadline = time.monotonic() + 60
        while not (PEER_DIR / f"{OTHER}.ready").exists():
            if time.monotonic() > deadline:
                raise SystemExit(f"{OTHER} never attached")
            await asyncio.sleep(0.02)
        if SERVICE == "billing":
            paid = runtime.service.event("InvoicePaid")
            await paid.publish(
                paid.payload_type(invoice="free", cents=0),  # filtered out by shipping
                paid.payload_type(invoice="inv-1", cents=1250),
            )
        while not all(line in _log() for line in DONE):
            if time.monotonic() > deadline:
                raise SystemExit(f"{SERVICE}: deliveries missing, log: {_log()}")
            await asyncio.sleep(0.02)
        (PEER_DIR / f"{SERVICE}.done").touch()
        # Stay attached until the other side has seen everything too.
        # Polling files: the other side is another process.
        while not (PEER_DIR / f"{OTHER}.done").exists() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def _log() -> list[str]:
    return LOG.read_text().splitlines() if LOG.exists() else []


asyncio.run(main())
