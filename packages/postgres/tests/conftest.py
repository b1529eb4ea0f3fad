"""A throwaway PostgreSQL server for the whole test session, and a fresh schema per test.

The server is ``eventual_postgres.TemporaryServer``: the machine's own
PostgreSQL binaries (Debian's ``postgresql`` package), a cluster made by
``initdb`` in a temporary folder and started by ``pg_ctl`` on a free port of
127.0.0.1, as the ``postgres`` user when the tests run as root. Durability is
off (``fsync=off``): the cluster is thrown away, and the tests are about
behaviour, not disks.

In CI (``CI`` set) a machine without the server binaries fails the run instead
of skipping the tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from eventual.codec import JsonValue
from eventual.spi import Client
from eventual_messaging import BusOptions
from eventual_postgres import PostgresBackend, PostgresBus, TemporaryServer
from eventual_postgres._server import find_binaries

pytest.register_assert_rewrite("eventual_engine.conformance")


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The URL of a PostgreSQL server that lives as long as the test session."""
    if find_binaries() is None:
        message = "PostgreSQL's initdb and pg_ctl are not installed (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with TemporaryServer() as server:
        yield server.dsn()


@pytest.fixture
def schema() -> str:
    """A schema name no other test uses, so each test starts from empty tables."""
    return f"t_{uuid.uuid4().hex[:16]}"


@pytest.fixture
async def backend(postgres_dsn: str, schema: str) -> AsyncIterator[PostgresBackend]:
    """An open backend on a fresh schema."""
    opened = await PostgresBackend(postgres_dsn, schema=schema, pool_size=4).open()
    try:
        yield opened
    finally:
        await opened.close()


# --- the fixtures of eventual-messaging's bus contract suite ---------------------------

_BUS_START = datetime(2026, 1, 1, tzinfo=UTC)


class _Clock:
    def __init__(self) -> None:
        self.time = _BUS_START

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
    """Where the suite's manual clock starts."""
    return _BUS_START


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


@pytest.fixture
async def bus(postgres_dsn: str, schema: str) -> AsyncIterator[PostgresBus]:
    """An open PostgreSQL bus on a fresh schema."""
    opened = PostgresBus(
        postgres_dsn, schema=schema, pool_size=4, options=BusOptions(lease=timedelta(seconds=30))
    )
    await opened.open()
    yield opened
    await opened.close()
