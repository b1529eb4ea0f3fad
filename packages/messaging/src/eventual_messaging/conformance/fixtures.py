"""The fixtures the bus contract needs besides ``bus``: a manual clock and a recording client.

A pytest plugin module. A root ``conftest.py`` enables it with
``pytest_plugins = ["eventual_messaging.conformance.fixtures"]``; pytest refuses
``pytest_plugins`` in any other conftest, so a conftest below the root (one per
package of a monorepo) imports the fixtures instead::

    from eventual_messaging.conformance.fixtures import (
        advance as advance,
        client as client,
        manual_clock as manual_clock,
        now as now,
        published as published,
        start as start,
    )

The clock moves only when a test calls ``advance``; ``client`` stands in for a
runtime's client and records what handlers publish into ``published``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from eventual.codec import JsonValue
from eventual.spi import Client

__all__ = ["START", "ManualClock", "advance", "client", "manual_clock", "now", "published", "start"]

START = datetime(2026, 1, 1, tzinfo=UTC)
"""Where the manual clock starts."""


class ManualClock:
    """A clock that moves only when told."""

    def __init__(self, start: datetime = START) -> None:
        self.time = start

    def now(self) -> datetime:
        """Return the clock's time."""
        return self.time

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``."""
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
def manual_clock(start: datetime) -> ManualClock:
    """The test's manual clock, read by ``now`` and moved by ``advance``."""
    return ManualClock(start)


@pytest.fixture
def now(manual_clock: ManualClock) -> Callable[[], datetime]:
    """Read the manual clock."""
    return manual_clock.now


@pytest.fixture
def advance(manual_clock: ManualClock) -> Callable[[timedelta], None]:
    """Move the manual clock forward."""
    return manual_clock.advance


@pytest.fixture
def published() -> list[tuple[str, JsonValue]]:
    """What handlers published through ``client``, as (event name, payload)."""
    return []


@pytest.fixture
def client(published: list[tuple[str, JsonValue]]) -> Client:
    """A client that records publishes into ``published``."""
    # Handlers here only publish; the rest of the Client protocol is never reached.
    return cast(Client, _Recorder(published))
