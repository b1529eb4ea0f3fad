"""Shared fixtures: an engine on the in-memory backend with a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eventual import Service
from eventual_engine import Engine, ManualClock, MemoryBackend
from eventual_engine._sqlite import SqliteBackend

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


@pytest.fixture(params=["memory", "sqlite"])
async def any_engine_factory(
    request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[EngineFactory]:
    """Like engine_factory, once per backend (the SQLite file lives in tmp_path)."""
    opened: list[SqliteBackend] = []

    def build(service: Service) -> Engine:
        if request.param == "memory":
            return Engine(service, MemoryBackend(), clock=clock)
        backend = SqliteBackend(tmp_path / f"engine-{len(opened)}.db")
        opened.append(backend)
        return Engine(service, backend, clock=clock)

    yield build
    for backend in opened:
        await backend.close()
