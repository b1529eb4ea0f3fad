"""The backend's tables, created and migrated forward under an advisory lock.

Each entry of :data:`MIGRATIONS` takes the schema from version ``i`` to ``i + 1``
and is recorded as one row of ``schema_migrations`` in the same transaction that
applies it. A new release appends an entry and never edits an old one. The
whole migration runs under a transaction-scoped advisory lock named after the
schema, so processes starting together on a new database apply each version
exactly once: the first takes the lock and migrates, the others wait for it and
then find the schema current. A database migrated by a newer release is refused
rather than read, since rows written by it may mean something this code would
get wrong.

The tables mirror the embedded SQLite backend's (see its module), with three
differences that come from many machines sharing one server:

- Lease expiries (``until``) are the *server's* clock, ``clock_timestamp()`` in
  epoch seconds, never a client's, so machines whose clocks drift still agree on
  when a claim lapsed.
- New work (messages queued, unclaimed task attempts dispatched, timers
  scheduled) is announced with ``pg_notify('eventual', '<schema> <loop>')`` so
  idle workers on other machines wake at once (``LISTEN``) instead of polling.
  Up to version 5 triggers sent them inside each transaction; from version 6
  the committing process sends them after its commit, coalesced, in
  transactions of their own (``Database.announce``).
- A log line's position counts per execution (``log_positions``) instead of
  being a row id, so lines become visible in the order of their positions
  however their writers' transactions interleave (see ``_logs``).
"""

from __future__ import annotations

from typing import Final

from psycopg import sql

from eventual import EventualError

from .._database import Connection, advisory_key

__all__ = ["CHECK_FAILED", "MIGRATIONS", "SCHEMA_VERSION", "SchemaVersionError", "migrate"]


class SchemaVersionError(EventualError):
    """The database schema was migrated by a newer release than this one."""


CHECK_FAILED: Final = "EV409"
"""The SQLSTATE of a failed ``require(ok, reason)``: a step's commit lost a race."""

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 0 -> 1: the first schema.
    (
        """CREATE TABLE executions (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
        )""",
        """CREATE TABLE messages (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            execution_id TEXT NOT NULL,
            id TEXT NOT NULL,
            event TEXT NOT NULL,
            UNIQUE (execution_id, id)
        )""",
        """CREATE TABLE inbox (
            execution_id TEXT PRIMARY KEY,
            first_seq BIGINT NOT NULL
        )""",
        "CREATE INDEX inbox_by_arrival ON inbox (first_seq)",
        """CREATE TABLE queue_claims (
            execution_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            lease TEXT NOT NULL,
            until DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE timers (
            id TEXT PRIMARY KEY,
            execution_id TEXT NOT NULL,
            due_us BIGINT NOT NULL,
            owner TEXT,
            until DOUBLE PRECISION NOT NULL DEFAULT 0,
            timer TEXT NOT NULL
        )""",
        "CREATE INDEX timers_by_due ON timers (due_us, id)",
        """CREATE TABLE tasks (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            token TEXT NOT NULL UNIQUE,
            not_before_us BIGINT NOT NULL,
            owner TEXT,
            until DOUBLE PRECISION NOT NULL DEFAULT 0,
            heartbeat_us BIGINT,
            task TEXT NOT NULL
        )""",
        """CREATE TABLE outbox (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            execution_id TEXT NOT NULL,
            event TEXT NOT NULL
        )""",
        """CREATE FUNCTION notify_work() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('eventual', TG_TABLE_SCHEMA || ' ' || TG_ARGV[0]);
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER messages_notify AFTER INSERT ON messages
            FOR EACH STATEMENT EXECUTE FUNCTION notify_work('orchestrator')""",
        """CREATE TRIGGER tasks_notify AFTER INSERT ON tasks
            FOR EACH ROW WHEN (NEW.owner IS NULL) EXECUTE FUNCTION notify_work('tasks')""",
        """CREATE TRIGGER timers_notify AFTER INSERT OR UPDATE OF due_us ON timers
            FOR EACH STATEMENT EXECUTE FUNCTION notify_work('timers')""",
    ),
    # 1 -> 2: answers kept under Idempotency-Key headers (the engine's clock, in µs).
    (
        """CREATE TABLE idempotency (
            key TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            expires_us BIGINT NOT NULL,
            held_us BIGINT NOT NULL,
            answer TEXT
        )""",
        "CREATE INDEX idempotency_by_expiry ON idempotency (expires_us)",
    ),
    # 2 -> 3: a check the server makes inside a step's commit, so that a commit
    # is one pipeline whose failed check rolls back everything sent with it.
    (
        f"""CREATE FUNCTION require(ok boolean, reason text) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT ok THEN
                RAISE EXCEPTION USING ERRCODE = '{CHECK_FAILED}', MESSAGE = reason;
            END IF;
        END $$""",
    ),
    # 3 -> 4: log entries of workflow code and task bodies, kept per execution.
    (
        """CREATE TABLE logs (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            execution_id TEXT NOT NULL,
            key TEXT NOT NULL,
            entry TEXT NOT NULL,
            UNIQUE (execution_id, key)
        )""",
    ),
    # 4 -> 5: a log line's position counts per execution (``log_positions``, see
    # ``_logs``) instead of coming from a sequence, so lines become visible in the
    # order of their positions. Lines kept already keep their positions, so a
    # follower's ``after`` stays valid, and each counter starts from its largest.
    (
        "ALTER TABLE logs DROP CONSTRAINT logs_pkey",
        "ALTER TABLE logs ALTER COLUMN seq DROP IDENTITY",
        "ALTER TABLE logs RENAME COLUMN seq TO position",
        "ALTER TABLE logs ADD PRIMARY KEY (execution_id, position)",
        """CREATE TABLE log_positions (
            execution_id TEXT PRIMARY KEY,
            last BIGINT NOT NULL
        )""",
        """INSERT INTO log_positions (execution_id, last)
            SELECT execution_id, max(position) FROM logs GROUP BY execution_id""",
    ),
    # 5 -> 6: new work is announced by the process that committed it, after the
    # commit, coalesced (``Database.announce``), not by triggers inside each
    # transaction: PostgreSQL serializes the commits of all transactions that
    # notify (one lock for the whole server, held through the commit's flush),
    # which made every process's commits wait in one line.
    (
        "DROP TRIGGER messages_notify ON messages",
        "DROP TRIGGER tasks_notify ON tasks",
        "DROP TRIGGER timers_notify ON timers",
    ),
    # 6 -> 7: executions stay with the process holding their live instance. A
    # step records its committer (``holder``), and a message when it was queued
    # (the server's clock; 0 for messages queued before, which count as having
    # waited long): a claim passes over another holder's executions until their
    # oldest message has waited the backend's ``affinity`` (see ``_queue``). The
    # default is set apart from the column, so existing rows are not rewritten.
    (
        "ALTER TABLE executions ADD COLUMN holder TEXT",
        "ALTER TABLE messages ADD COLUMN queued_at DOUBLE PRECISION NOT NULL DEFAULT 0",
        "ALTER TABLE messages ALTER COLUMN queued_at SET DEFAULT "
        "extract(epoch FROM clock_timestamp())::float8",
    ),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)
"""The schema version this code writes."""

_CREATE_VERSIONS = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )
"""


async def migrate(conn: Connection, schema: str) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION`; return how many versions were applied.

    Args:
        conn: An autocommit connection whose ``search_path`` is ``schema``.
        schema: The schema's name (created when missing).

    Raises:
        SchemaVersionError: The schema was migrated by a newer release.
    """
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(%s)", (advisory_key("eventual_postgres", schema),)
        )
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        await conn.execute(_CREATE_VERSIONS)
        cursor = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
        row = await cursor.fetchone()
        version = int(str(row[0])) if row is not None else 0
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"schema {schema!r} has version {version}, but this eventual-postgres only "
                f"knows versions up to {SCHEMA_VERSION}; upgrade eventual-postgres (a newer "
                "release migrated this database)"
            )
        for index, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                await conn.execute(statement)
            await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (index,))
        return SCHEMA_VERSION - version
