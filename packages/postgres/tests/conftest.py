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
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest

from eventual_messaging import BusOptions
from eventual_postgres import PostgresBackend, PostgresBus, TemporaryServer
from eventual_postgres._server import find_binaries


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


# --- eventual-messaging's bus contract: its own fixtures, and a PostgreSQL bus -----------

from eventual_messaging.conformance.fixtures import (  # noqa: E402, F401
    advance,
    client,
    manual_clock,
    now,
    published,
    start,
)


@pytest.fixture
async def bus(postgres_dsn: str, schema: str) -> AsyncIterator[PostgresBus]:
    """An open PostgreSQL bus on a fresh schema."""
    opened = PostgresBus(
        postgres_dsn, schema=schema, pool_size=4, options=BusOptions(lease=timedelta(seconds=30))
    )
    await opened.open()
    yield opened
    await opened.close()
