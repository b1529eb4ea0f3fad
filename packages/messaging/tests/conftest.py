"""Fixtures shared by the messaging tests: a bus of each kind, a manual clock, a client.

The bus contract (``eventual_messaging.conformance``) runs against both buses
through the ``bus`` fixture, with the contract's own fixtures imported here. It
needs no engine: its tests attach services to the bus and drive ``deliver_due``
by hand on a clock that moves only when told (``now`` reads it, ``advance``
moves it). Tests that run a whole service import ``eventual_engine`` with
``pytest.importorskip``, since the isolated install of this distribution has
core only.

``tests/services`` holds two small services (``billing`` and ``shipping``) that the
cross-service tests run in separate processes (``services_path`` is that folder).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from eventual_messaging import BusOptions, LocalBus, MemoryBus, SqliteBus

# The bus contract's fixtures: pytest finds them by their names in this module.
from eventual_messaging.conformance.fixtures import (  # noqa: F401
    advance,
    client,
    manual_clock,
    now,
    published,
    start,
)

SERVICES = Path(__file__).resolve().parent / "services"


@pytest.fixture(params=["memory", "sqlite"])
async def bus(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LocalBus]:
    """An open bus of each kind (the SQLite one in tmp_path)."""
    options = BusOptions(lease=timedelta(seconds=30))
    opened: LocalBus
    if request.param == "memory":
        opened = MemoryBus(options)
    else:
        opened = SqliteBus(tmp_path / "bus.db", options=options)
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
def services_path() -> Path:
    """The folder of the billing and shipping test services."""
    return SERVICES
