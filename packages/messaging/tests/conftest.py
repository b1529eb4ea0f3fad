"""Fixtures shared by the messaging tests: a bus of each kind, a manual clock, a client.

The contract tests run against both buses through the ``bus`` fixture. They need
no engine: they attach services to the bus and drive ``deliver_due`` by hand on a
clock that moves only when told (``now`` reads it, ``advance`` moves it). Tests
that run a whole service import ``eventual_engine`` with
``pytest.importorskip``, since the isolated install of this distribution has core
only.

``tests/services`` holds two small services (``billing`` and ``shipping``) that the
cross-service tests run in separate processes (``services_path`` is that folder).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from eventual.codec import JsonValue
from eventual.spi import Client
from eventual_messaging import BusOptions, LocalBus, MemoryBus, SqliteBus

START = datetime(2026, 1, 1, tzinfo=UTC)
SERVICES = Path(__file__).resolve().parent / "services"


class _Clock:
    def __init__(self) -> None:
        self.time = START

    def now(self) -> datetime:
        return self.time

    def advance(self, delta: timedelta) -> None:
        self.time += delta


class _Recorder:
    """Stands in for a runtime's client: records what handlers publish."""

    def __init__(self, published: list[tuple[str, JsonValue]]) -> None:
        self.published = published

    async def publish_events(self, events: Sequence[tuple[str, JsonValue]]) -> None:
        self.published.extend(events)


@pytest.fixture
def start() -> datetime:
    """Where the manual clock starts."""
    return START


@pytest.fixture
def _clock() -> _Clock:
    return _Clock()


@pytest.fixture
def now(_clock: _Clock) -> Callable[[], datetime]:
    """Read the manual clock."""
    return _clock.now


@pytest.fixture
def advance(_clock: _Clock) -> Callable[[timedelta], None]:
    """Move the manual clock forward."""
    return _clock.advance


@pytest.fixture
def published() -> list[tuple[str, JsonValue]]:
    """What handlers published through ``client``, as (event name, payload)."""
    return []


@pytest.fixture
def client(published: list[tuple[str, JsonValue]]) -> Client:
    """A client that records publishes into ``published``."""
    # Handlers here only publish; the rest of the Client protocol is never reached.
    return cast(Client, _Recorder(published))


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
