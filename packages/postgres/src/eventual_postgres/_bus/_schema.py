"""The event bus's tables, beside the backend's in the same schema, migrated under an advisory lock.

They mirror eventual-messaging's SQLite bus (``bus_events`` for deduplication and
payloads, ``bus_routes`` per subscription pattern, ``bus_deliveries`` per event
and subscription until it succeeds), with the same two differences as the
backend: lease expiries are the server's clock, and a trigger notifies idle
workers (``'<schema> events'``) when deliveries are created or given back.
Dead letters are numbered from a sequence, so processes that dead-letter at
the same moment never share a number. Versions are recorded in
``bus_schema_migrations``, apart from the backend's, since either may be used
without the other.
"""

from __future__ import annotations

from typing import Final

from psycopg import sql

from eventual import EventualError
from eventual.spi import holder_gone

from .._database import Connection, advisory_key

__all__ = ["BUS_SCHEMA_VERSION", "BusSchemaVersionError", "open_bus"]


class BusSchemaVersionError(EventualError):
    """The bus tables were migrated by a newer eventual-postgres than this one."""


MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE bus_events (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            name TEXT NOT NULL,
            time_us BIGINT NOT NULL,
            payload TEXT NOT NULL
        )""",
        "CREATE INDEX bus_events_by_time ON bus_events (time_us)",
        """CREATE TABLE bus_routes (
            service TEXT NOT NULL,
            subscription TEXT NOT NULL,
            event TEXT NOT NULL,
            position INTEGER NOT NULL,
            pattern TEXT NOT NULL,
            PRIMARY KEY (service, subscription, position)
        )""",
        "CREATE INDEX bus_routes_by_event ON bus_routes (event)",
        "CREATE SEQUENCE bus_dead_seq",
        """CREATE TABLE bus_deliveries (
            service TEXT NOT NULL,
            subscription TEXT NOT NULL,
            event_seq BIGINT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before_us BIGINT NOT NULL,
            lease TEXT,
            until DOUBLE PRECISION NOT NULL DEFAULT 0,
            error_type TEXT,
            message TEXT,
            failed_us BIGINT,
            dead_seq BIGINT,
            PRIMARY KEY (service, subscription, event_seq)
        )""",
        "CREATE INDEX bus_deliveries_due ON bus_deliveries (service, status, not_before_us)",
        "CREATE INDEX bus_deliveries_dead ON bus_deliveries (service, dead_seq)",
        "CREATE INDEX bus_deliveries_by_event ON bus_deliveries (event_seq)",
        """CREATE FUNCTION bus_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('eventual', TG_TABLE_SCHEMA || ' events');
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER bus_deliveries_notify AFTER INSERT OR UPDATE OF not_before_us, until
            ON bus_deliveries FOR EACH STATEMENT EXECUTE FUNCTION bus_notify()""",
    ),
    # 1 -> 2: notify only when a delivery becomes claimable (added, released, set to
    # retry later, redriven). A statement trigger also fired for a claim, even one
    # that took nothing, and every engine's claim woke every engine's claim again.
    (
        "DROP TRIGGER bus_deliveries_notify ON bus_deliveries",
        """CREATE TRIGGER bus_deliveries_added AFTER INSERT ON bus_deliveries
            FOR EACH ROW EXECUTE FUNCTION bus_notify()""",
        """CREATE TRIGGER bus_deliveries_freed AFTER UPDATE ON bus_deliveries
            FOR EACH ROW WHEN (
                NEW.status = 'waiting' AND NEW.until = 0 AND (
                    OLD.until <> 0 OR OLD.status <> 'waiting'
                    OR OLD.not_before_us <> NEW.not_before_us
                )
            ) EXECUTE FUNCTION bus_notify()""",
    ),
    # 2 -> 3: the process that made deliveries claimable announces them after its
    # commit (``Database.announce``) instead: PostgreSQL serializes the commits of
    # all transactions that notify, so a trigger made publishes wait in one line.
    (
        "DROP TRIGGER bus_deliveries_added ON bus_deliveries",
        "DROP TRIGGER bus_deliveries_freed ON bus_deliveries",
    ),
)

BUS_SCHEMA_VERSION: Final = len(MIGRATIONS)

_NOW = "extract(epoch FROM clock_timestamp())::float8"


async def open_bus(conn: Connection, schema: str) -> None:
    """Migrate the bus tables, then release the delivery leases of dead processes.

    A delivery leased by a process of this machine that no longer runs is due
    again at once instead of after its lease lapses; the attempt it counted
    stays counted.

    Raises:
        BusSchemaVersionError: The tables were migrated by a newer release.
    """
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(%s)", (advisory_key("eventual_postgres_bus", schema),)
        )
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bus_schema_migrations (version INTEGER PRIMARY KEY, "
            "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        cursor = await conn.execute("SELECT coalesce(max(version), 0) FROM bus_schema_migrations")
        row = await cursor.fetchone()
        version = 0 if row is None else int(str(row[0]))
        if version > BUS_SCHEMA_VERSION:
            raise BusSchemaVersionError(
                f"the event bus tables of schema {schema!r} have version {version}, but this "
                f"eventual-postgres knows versions up to {BUS_SCHEMA_VERSION}; upgrade it"
            )
        for index, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                await conn.execute(statement)
            await conn.execute("INSERT INTO bus_schema_migrations (version) VALUES (%s)", (index,))
    cursor = await conn.execute(
        f"SELECT DISTINCT lease FROM bus_deliveries WHERE lease IS NOT NULL AND until > {_NOW}"
    )
    leases = [str(lease) for (lease,) in await cursor.fetchall()]
    dead = [lease for lease in leases if holder_gone(lease.rpartition(":")[0])]
    if dead:
        await conn.execute(
            "UPDATE bus_deliveries SET lease = NULL, until = 0 "
            "WHERE lease = ANY(%s) AND status = 'waiting'",
            (dead,),
        )
