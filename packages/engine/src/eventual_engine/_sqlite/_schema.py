"""The database schema, versioned with ``PRAGMA user_version`` and migrated forward.

Each entry of :data:`MIGRATIONS` takes the schema from version ``i`` to ``i + 1``;
a new release appends an entry and never edits an old one, because files written
by an older release must still open. A file whose version is newer than this code
knows is refused instead of being read, since rows written by a newer release may
mean something this code would get wrong.

Why these tables:

- ``executions`` holds the record as JSON plus the columns queries filter on.
  ``length`` is the history length, so a commit checks it with one conditional
  ``UPDATE`` instead of counting rows; ``seq`` orders listings newest first.
- ``history`` is keyed by ``(execution_id, position)``: two writers that both
  passed the length check (impossible inside one transaction, but cheap to rule
  out) would collide on the primary key.
- ``messages`` is the inbound queue; ``seq`` gives FIFO order per execution and
  ``(execution_id, id)`` makes a redelivered message a no-op. ``inbox`` has one
  row per execution with queued messages, in the order its first message
  arrived, so a claim reads ``limit`` rows instead of grouping the whole queue.
  ``messages.seq`` is ``AUTOINCREMENT`` because ``inbox.first_seq`` may outlive
  the message it names, and a reused number would put a newcomer ahead of it.
  ``queue_claims`` holds leases apart from ``inbox``, as the in-memory backend
  does, so a lease outlives the queue emptying.
- ``tasks`` are kept in dispatch order by ``seq``, a plain rowid: a new one is
  above every row present, which is all dispatch order needs.
- ``timers`` and ``tasks`` keep due times as epoch microseconds (sortable integers)
  next to the JSON, and their lease expiry as ``time.time()`` seconds (``until``),
  because leases must mean the same in every process sharing the file.
- ``outbox`` holds published events; ``AUTOINCREMENT`` so an acknowledged id is
  never reused for a later event.
- ``idempotency`` keeps the first answer under each ``Idempotency-Key`` with its
  expiry in epoch microseconds (the engine's clock), indexed so that expired keys
  are deleted as new ones are taken; ``answer`` is NULL while the first request
  is being answered.
- ``logs`` (version 3) keeps log entries; ``seq`` is an entry's position (what a
  follower passes as ``after``), ``(execution_id, key)`` drops a line a step
  that ran again logged twice, and its index serves reads by execution.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from eventual import EventualError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SchemaVersionError", "migrate"]


class SchemaVersionError(EventualError):
    """The database file was written by a newer release than this one."""


MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 0 -> 1: the first schema.
    (
        """CREATE TABLE executions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            workflow TEXT NOT NULL,
            status TEXT NOT NULL,
            length INTEGER NOT NULL,
            record TEXT NOT NULL
        )""",
        "CREATE INDEX executions_by_workflow ON executions (workflow, seq)",
        "CREATE INDEX executions_by_status ON executions (status, seq)",
        """CREATE TABLE history (
            execution_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            event TEXT NOT NULL,
            PRIMARY KEY (execution_id, position)
        ) WITHOUT ROWID""",
        """CREATE TABLE messages (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            execution_id TEXT NOT NULL,
            id TEXT NOT NULL,
            event TEXT NOT NULL,
            UNIQUE (execution_id, id)
        )""",
        """CREATE TABLE inbox (
            execution_id TEXT PRIMARY KEY,
            first_seq INTEGER NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX inbox_by_arrival ON inbox (first_seq)",
        """CREATE TABLE queue_claims (
            execution_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            lease TEXT NOT NULL,
            until REAL NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE timers (
            id TEXT PRIMARY KEY,
            execution_id TEXT NOT NULL,
            due_us INTEGER NOT NULL,
            owner TEXT,
            until REAL NOT NULL DEFAULT 0,
            timer TEXT NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX timers_by_due ON timers (due_us, id)",
        """CREATE TABLE tasks (
            seq INTEGER PRIMARY KEY,
            token TEXT NOT NULL UNIQUE,
            not_before_us INTEGER NOT NULL,
            owner TEXT,
            until REAL NOT NULL DEFAULT 0,
            heartbeat_us INTEGER,
            task TEXT NOT NULL
        )""",
        """CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            execution_id TEXT NOT NULL,
            event TEXT NOT NULL
        )""",
    ),
    # 1 -> 2: answers kept under Idempotency-Key headers.
    (
        """CREATE TABLE idempotency (
            key TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            expires_us INTEGER NOT NULL,
            held_us INTEGER NOT NULL,
            answer TEXT
        ) WITHOUT ROWID""",
        "CREATE INDEX idempotency_by_expiry ON idempotency (expires_us)",
    ),
    # 2 -> 3: log entries of workflow code and task bodies, kept per execution.
    (
        """CREATE TABLE logs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            execution_id TEXT NOT NULL,
            key TEXT NOT NULL,
            entry TEXT NOT NULL,
            UNIQUE (execution_id, key)
        )""",
    ),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)
"""The schema version this code writes."""


def check_readable(conn: sqlite3.Connection, path: str) -> None:
    """Check that a file opened read-only has exactly this code's schema.

    Raises:
        SchemaVersionError: The file is empty, older (it needs migrating, which
            a read-only open cannot do) or newer than this code.
    """
    version = _version(conn)
    if version == SCHEMA_VERSION:
        return
    if version == 0:
        raise SchemaVersionError(f"{path} is not an eventual database (it has no schema)")
    newer = version > SCHEMA_VERSION
    raise SchemaVersionError(
        f"{path} has schema version {version}, and this eventual-engine reads version "
        f"{SCHEMA_VERSION}; "
        + (
            "upgrade eventual-engine to read it"
            if newer
            else "open it once read-write with this version to migrate it (or use a copy)"
        )
    )


def migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring the schema of an open database up to :data:`SCHEMA_VERSION`.

    Runs in one ``BEGIN IMMEDIATE`` transaction, so two processes opening a new
    file at once do not both create the tables: the second waits for the write
    lock and then finds the schema current.

    Args:
        conn: A connection in autocommit mode (``isolation_level=None``).
        path: The file, for error messages.

    Raises:
        SchemaVersionError: The file has a newer schema than this code knows.
    """
    # Cheap check first: an up-to-date file does not need the write lock.
    if _version(conn) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _version(conn)
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{path} has schema version {version}, but this eventual-engine only "
                f"knows versions up to {SCHEMA_VERSION}; upgrade eventual-engine to "
                "open it (a newer release wrote this file)"
            )
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                conn.execute(statement)
        # PRAGMA takes no parameters; the value is our own integer constant.
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])
