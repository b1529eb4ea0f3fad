"""The durable SQLite bus (``eventual_messaging._sqlite``): restarts, schema, shared files."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from eventual import RetryPolicy, Service, event, subscription
from eventual.spi import Client, EventEnvelope
from eventual_messaging import BusSchemaVersionError, SqliteBus
from eventual_messaging._sqlite._schema import SCHEMA_VERSION


@attrs.frozen
class Ping:
    n: int


ping = event("Ping", Ping)


def envelope(id_: str, n: int) -> EventEnvelope:
    return EventEnvelope(
        id=id_, source="s", name="Ping", time=datetime(2026, 1, 1, tzinfo=UTC), payload={"n": n}
    )


async def test_deliveries_retries_and_dead_letters_survive_a_restart(
    tmp_path: Path,
    now: Callable[[], datetime],
    advance: Callable[[timedelta], None],
    client: Client,
    start: datetime,
) -> None:
    """Reopening the file keeps waiting deliveries, back-offs, dead letters and dedup."""
    seen: list[int] = []

    @subscription(ping, retry=RetryPolicy(max_attempts=2, initial_interval=timedelta(minutes=1)))
    async def pong(p: Ping) -> None:
        if p.n == 1:
            raise RuntimeError("one fails")
        seen.append(p.n)

    service = Service.from_definitions("svc", [pong])
    path = tmp_path / "bus.db"
    async with SqliteBus(path) as bus:
        delivery = await bus.attach(service, client, now, owner="first")
        await bus.publish([envelope("a", 1), envelope("b", 2)])
        await delivery.deliver_due()  # 2 done, 1 waits for its retry
        await bus.publish([envelope("c", 3)])  # waits, never claimed before the restart
    assert seen == [2]

    async with SqliteBus(path) as bus:
        delivery = await bus.attach(service, client, now, owner="second")
        assert await delivery.pending() == 2
        assert await delivery.next_due() == start
        await bus.publish([envelope("b", 2), envelope("c", 3)])  # already accepted: ignored
        await delivery.deliver_due()
        assert seen == [2, 3]
        assert await delivery.next_due() == start + timedelta(minutes=1)
    advance(timedelta(minutes=1))

    async with SqliteBus(path) as bus:
        delivery = await bus.attach(service, client, now, owner="third")
        await delivery.deliver_due()
    async with SqliteBus(path) as bus:
        delivery = await bus.attach(service, client, now, owner="fourth")
        (dead,) = await delivery.dead_letters()
        assert (dead.event.id, dead.attempts, dead.message) == ("a", 2, "one fails")
        assert await delivery.pending() == 0


async def test_the_bus_lives_beside_the_engine_tables_without_touching_them(
    tmp_path: Path,
) -> None:
    """Bus tables are prefixed bus_ and versioned in bus_meta; the engine's user_version is kept."""
    engine_sqlite = pytest.importorskip("eventual_engine._sqlite")
    path = tmp_path / "local.db"
    backend = await engine_sqlite.SqliteBackend(path).open()
    async with SqliteBus(path):
        pass
    await backend.close()
    backend = await engine_sqlite.SqliteBackend(path).open()  # the engine still opens it
    await backend.close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        version = conn.execute("SELECT value FROM bus_meta WHERE key='schema_version'").fetchone()
        user_version = conn.execute("PRAGMA user_version").fetchone()[0]
    assert {"bus_meta", "bus_events", "bus_routes", "bus_deliveries", "executions"} <= tables
    assert version == (str(SCHEMA_VERSION),)
    assert user_version >= 1  # the engine's, untouched


async def test_a_file_written_by_a_newer_bus_is_refused(tmp_path: Path) -> None:
    """A newer bus schema is not read: the error says to upgrade."""
    path = tmp_path / "bus.db"
    async with SqliteBus(path):
        pass
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE bus_meta SET value = '99' WHERE key = 'schema_version'")
    bus = SqliteBus(path)
    with pytest.raises(
        BusSchemaVersionError, match=r"schema version 99.*upgrade eventual-messaging"
    ):
        await bus.open()
    await bus.close()


async def test_a_file_that_is_not_a_database_names_the_file(tmp_path: Path) -> None:
    """Opening garbage fails with the path in the message."""
    path = tmp_path / "junk.db"
    path.write_bytes(b"not a database" * 100)
    bus = SqliteBus(path)
    with pytest.raises(sqlite3.DatabaseError, match=r"junk\.db"):
        await bus.open()
    await bus.close()


async def test_a_closed_bus_refuses_work(tmp_path: Path) -> None:
    """Using a bus after close() raises instead of hanging."""
    bus = await SqliteBus(tmp_path / "bus.db").open()
    await bus.close()
    with pytest.raises(RuntimeError, match="is closed"):
        await bus.publish([envelope("a", 1)])


def test_settings_are_checked() -> None:
    """Synchronous and busy_timeout are validated when the bus is built."""
    with pytest.raises(ValueError, match="synchronous must be 'NORMAL' or 'FULL', got 'OFF'"):
        SqliteBus("x.db", synchronous="off")
    with pytest.raises(ValueError, match="busy_timeout must be >= 0"):
        SqliteBus("x.db", busy_timeout=-1)
    assert SqliteBus("x.db", synchronous="full").path == "x.db"
