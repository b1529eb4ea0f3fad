"""The bus's tables, versioned in their own ``bus_meta`` row and migrated forward.

The bus may share its file with the engine's tables (``LocalRuntime`` puts both
in one file by default), so every table is prefixed ``bus_`` and the version is a
row of ``bus_meta`` rather than ``PRAGMA user_version``, which the engine owns.
Each entry of :data:`MIGRATIONS` takes the schema from version ``i`` to ``i + 1``;
a release appends entries and never edits old ones. A file whose bus schema is
newer than this code is refused.

Why these tables:

- ``bus_events`` keeps every accepted envelope by id (the dedup: a republished id
  is ignored) and its payload, which deliveries and dead letters refer to by
  ``seq``. Times are epoch microseconds.
- ``bus_routes`` has one row per subscription pattern, indexed by event name, so
  fan-out reads only the routes of the published event's name.
- ``bus_deliveries`` has one row per (service, subscription, event) until it
  succeeds. ``status`` is ``waiting`` or ``dead``; ``not_before_us`` is the
  back-off on the bus clock (virtual in tests); ``until`` is the lease expiry in
  ``time.time()`` seconds, because leases must mean the same in every process.
  ``dead_seq`` orders dead letters by when they died.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Final

from eventual import EventualError
from eventual.spi import holder_gone

__all__ = ["SCHEMA_VERSION", "BusSchemaVersionError", "migrate", "open_bus"]


class BusSchemaVersionError(EventualError):
    """The bus tables were written by a newer eventual-messaging than this one."""


MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE bus_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            name TEXT NOT NULL,
            time_us INTEGER NOT NULL,
            payload TEXT NOT NULL
        )""",
        """CREATE TABLE bus_routes (
            service TEXT NOT NULL,
            subscription TEXT NOT NULL,
            event TEXT NOT NULL,
            position INTEGER NOT NULL,
            pattern TEXT NOT NULL,
            PRIMARY KEY (service, subscription, position)
        ) WITHOUT ROWID""",
        "CREATE INDEX bus_routes_by_event ON bus_routes (event)",
        """CREATE TABLE bus_deliveries (
            service TEXT NOT NULL,
            subscription TEXT NOT NULL,
            event_seq INTEGER NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before_us INTEGER NOT NULL,
            lease TEXT,
            until REAL NOT NULL DEFAULT 0,
            error_type TEXT,
            message TEXT,
            failed_us INTEGER,
            dead_seq INTEGER,
            PRIMARY KEY (service, subscription, event_seq)
        ) WITHOUT ROWID""",
        "CREATE INDEX bus_deliveries_due ON bus_deliveries (service, status, not_before_us)",
        "CREATE INDEX bus_deliveries_dead ON bus_deliveries (service, dead_seq)",
    ),
    # 2: finding old events to forget (dedup retention) and the deliveries of one.
    (
        "CREATE INDEX bus_events_by_time ON bus_events (time_us)",
        "CREATE INDEX bus_deliveries_by_event ON bus_deliveries (event_seq)",
    ),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring the bus tables of an open database up to :data:`SCHEMA_VERSION`.

    Runs in one ``BEGIN IMMEDIATE`` transaction, so processes opening a new file
    at once create the tables once.

    Raises:
        BusSchemaVersionError: The file's bus schema is newer than this code.
    """
    if _version(conn) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bus_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        version = _version(conn)
        if version > SCHEMA_VERSION:
            raise BusSchemaVersionError(
                f"{path} has event bus schema version {version}, but this eventual-messaging "
                f"knows versions up to {SCHEMA_VERSION}; upgrade eventual-messaging to open it"
            )
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(
            "INSERT INTO bus_meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _version(conn: sqlite3.Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bus_meta'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT value FROM bus_meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def open_bus(conn: sqlite3.Connection, path: str) -> None:
    """Migrate the bus tables, then release the delivery leases of dead processes.

    A process killed while it ran subscription handlers leaves leases nobody
    will renew; when the lease names a process of this machine that no longer
    runs (``eventual.spi.holder_gone``), its deliveries are due again at once
    instead of after the lease lapses. The attempt it counted stays counted.
    """
    migrate(conn, path)
    now = time.time()
    leases = [
        str(row[0])
        for row in conn.execute(
            "SELECT DISTINCT lease FROM bus_deliveries WHERE lease IS NOT NULL AND until > ?",
            (now,),
        ).fetchall()
    ]
    dead = [(lease,) for lease in leases if holder_gone(lease.rpartition(":")[0])]
    if not dead:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "UPDATE bus_deliveries SET lease = NULL, until = 0 "
            "WHERE lease = ? AND status = 'waiting'",
            dead,
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
