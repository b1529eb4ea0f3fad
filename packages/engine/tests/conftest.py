"""Shared fixtures: an engine on the in-memory backend with a manual clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from eventual import Service
from eventual_engine import Engine, ManualClock, MemoryBackend

START = datetime(2026, 1, 1, tzinfo=UTC)

EngineFactory = Callable[[Service], Engine]


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at a fixed instant."""
    return ManualClock(START)


@pytest.fixture
def engine_factory(clock: ManualClock) -> EngineFactory:
    """Build engines over a service on the in-memory backend and the manual clock."""

    def build(service: Service) -> Engine:
        return Engine(service, MemoryBackend(), clock=clock)

    return build
