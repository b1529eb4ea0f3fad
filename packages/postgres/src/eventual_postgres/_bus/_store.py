"""``PostgresBusStore``: the event bus's storage on PostgreSQL, shared by many machines.

It is eventual-messaging's ``BusStore``, so ``LocalBus`` and its ``Delivery``
(claiming, running handlers, retries, dead letters) run over it unchanged.
Publishing inserts each new event and its deliveries in one transaction (an id
seen before inserts nothing, even when two processes publish it at once); a
claim takes due deliveries with ``FOR UPDATE SKIP LOCKED`` and leases them in
the same statement, so processes never run one delivery at once while a lease
holds, nor wait on each other's rows.
"""

from __future__ import annotations

import asyncio
import builtins
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventual.spi import DeadLetter, EventEnvelope, dump_json, from_micros, micros
from eventual_messaging import Claim, Outcome, Route, ServiceRoutes, split_dead_letter_id

from .._database import Connection, Database, advisory_key
from ._schema import open_bus

__all__ = ["PostgresBusStore"]

_NOW = "extract(epoch FROM clock_timestamp())::float8"
_EVENT = "e.id, e.source, e.name, e.time_us, e.payload"

_CLAIM = f"""
    WITH picked AS (
        SELECT subscription, event_seq FROM bus_deliveries
        WHERE service = %s AND status = 'waiting' AND not_before_us <= %s AND until <= {_NOW}
        ORDER BY not_before_us, event_seq LIMIT %s
        FOR UPDATE SKIP LOCKED
    )
    UPDATE bus_deliveries d
    SET attempts = d.attempts + 1,
        lease = %s || ':' || substr(md5(random()::text || d.event_seq), 1, 12),
        until = {_NOW} + %s
    FROM picked JOIN bus_events e ON e.seq = picked.event_seq
    WHERE d.service = %s AND d.subscription = picked.subscription
        AND d.event_seq = picked.event_seq
    RETURNING d.not_before_us, d.event_seq, d.subscription, d.attempts, d.lease, {_EVENT}
"""
_DEAD = f"""
    SELECT d.subscription, d.attempts, d.error_type, d.message, d.failed_us, {_EVENT}
    FROM bus_deliveries d JOIN bus_events e ON e.seq = d.event_seq
    WHERE d.service = %s AND d.status = 'dead' AND d.dead_seq > %s
    ORDER BY d.dead_seq
    LIMIT %s
"""
_HELD = (
    "WHERE service = %s AND subscription = %s AND lease = %s AND status = 'waiting' "
    "AND event_seq = (SELECT seq FROM bus_events WHERE id = %s)"
)
_PRUNE = """
    DELETE FROM bus_events e WHERE e.time_us < %s
    AND NOT EXISTS (SELECT 1 FROM bus_deliveries d WHERE d.event_seq = e.seq)
"""
_REDRIVE = (
    "UPDATE bus_deliveries SET status = 'waiting', attempts = 0, not_before_us = %s, "
    "lease = NULL, until = 0, error_type = NULL, message = NULL, failed_us = NULL, "
    "dead_seq = NULL WHERE service = %s AND status = 'dead'"
)


def _envelope(id_: Any, source: Any, name: Any, time_us: Any, payload: Any) -> EventEnvelope:
    return EventEnvelope(
        id=str(id_),
        source=str(source),
        name=str(name),
        time=from_micros(int(time_us)),
        payload=json.loads(str(payload)),
    )


class PostgresBusStore:
    """A ``BusStore`` in one schema of a PostgreSQL database (tables prefixed ``bus_``).

    Args:
        dsn: A libpq connection string or URL.
        schema: The schema holding the tables (created when missing).
        pool_size: Most connections open at once.
    """

    def __init__(self, dsn: str, *, schema: str, pool_size: int) -> None:
        self._db = Database(dsn, schema=schema, max_size=pool_size)
        # Settles run concurrently on several connections, so two deaths settled
        # at once could be numbered in either order. Deaths are rare; taking them
        # one at a time numbers this process's dead letters in the order their
        # handlers gave up.
        self._dying = asyncio.Lock()

    @property
    def schema(self) -> str:
        """The schema holding the tables."""
        return self._db.schema

    async def open(self) -> None:
        """Connect, and create or migrate the bus tables if needed."""
        schema = self._db.schema
        await self._db.open(lambda conn: open_bus(conn, schema))

    async def close(self) -> None:
        """Close the connections (idempotent)."""
        await self._db.close()

    async def register(self, service: str, routes: Sequence[Route]) -> None:
        """Replace the service's routes."""
        rows = [
            (service, route.subscription, name, position, dump_json(pattern))
            for route in routes
            for position, pattern in enumerate(route.patterns)
            for name in list(pattern.get("detail-type", ()))[:1]
        ]

        lock = advisory_key("eventual_postgres_routes", self._db.schema, service)

        async def run(conn: Connection) -> None:
            # Processes of one service start together and each registers its
            # routes: one at a time, or both would insert after both deleted.
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
            await conn.execute("DELETE FROM bus_routes WHERE service = %s", (service,))
            if rows:
                async with conn.cursor() as cursor:
                    await cursor.executemany(
                        "INSERT INTO bus_routes VALUES (%s, %s, %s, %s, %s)", rows
                    )

        await self._db.transaction(run)

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> int:
        """Store new envelopes and their deliveries in one transaction; return how many were new."""
        new = await self._db.transaction(lambda conn: _publish(conn, envelopes))
        if new:
            self._db.announce("events")
        return new

    async def claim(
        self, service: str, now: datetime, owner: str, limit: int, lease_seconds: float
    ) -> builtins.list[Claim]:
        """Claim due, unleased deliveries of ``service``, earliest first."""
        if limit <= 0:
            return []
        params = (service, micros(now), limit, owner, lease_seconds, service)

        async def run(conn: Connection) -> list[Claim]:
            cursor = await conn.execute(_CLAIM, params)
            rows = sorted(
                await cursor.fetchall(), key=lambda row: (int(str(row[0])), int(str(row[1])))
            )
            return [
                Claim(
                    service=service,
                    subscription=str(subscription),
                    envelope=_envelope(*event),
                    attempt=int(str(attempts)),
                    lease=str(lease),
                )
                for _, _, subscription, attempts, lease, *event in rows
            ]

        return await self._db.run(run)

    async def renew(self, claims: Sequence[Claim], lease_seconds: float) -> None:
        """Extend the leases still held."""
        if not claims:
            return
        leases = [c.lease for c in claims]

        async def run(conn: Connection) -> None:
            await conn.execute(
                f"UPDATE bus_deliveries SET until = {_NOW} + %s "
                "WHERE lease = ANY(%s) AND status = 'waiting'",
                (lease_seconds, leases),
            )

        await self._db.run(run)

    async def settle(self, outcomes: Sequence[Outcome]) -> int:
        """Apply outcomes whose claim is still held, in one transaction."""
        if any(outcome.kind == "dead" for outcome in outcomes):
            async with self._dying:
                applied = await self._db.transaction(lambda conn: _settle(conn, outcomes))
        else:
            applied = await self._db.transaction(lambda conn: _settle(conn, outcomes))
        if any(outcome.kind == "retry" for outcome in outcomes):
            self._db.announce("events")  # due again later: engines recompute their sleep
        return applied

    async def release(self, claims: Sequence[Claim]) -> None:
        """Give back interrupted claims still held, uncounted."""
        if not claims:
            return
        leases = [c.lease for c in claims]

        async def run(conn: Connection) -> None:
            await conn.execute(
                "UPDATE bus_deliveries SET attempts = attempts - 1, lease = NULL, until = 0 "
                "WHERE lease = ANY(%s) AND status = 'waiting'",
                (leases,),
            )

        await self._db.run(run)
        self._db.announce("events")

    async def next_due(self, service: str) -> datetime | None:
        """Return the earliest due time of unleased waiting deliveries."""

        async def run(conn: Connection) -> datetime | None:
            cursor = await conn.execute(
                "SELECT min(not_before_us) FROM bus_deliveries "
                f"WHERE service = %s AND status = 'waiting' AND until <= {_NOW}",
                (service,),
            )
            row = await cursor.fetchone()
            return None if row is None or row[0] is None else from_micros(int(str(row[0])))

        return await self._db.run(run)

    async def pending(self, service: str) -> int:
        """Count waiting and running deliveries."""

        async def run(conn: Connection) -> int:
            cursor = await conn.execute(
                "SELECT count(*) FROM bus_deliveries WHERE service = %s AND status = 'waiting'",
                (service,),
            )
            row = await cursor.fetchone()
            return 0 if row is None else int(str(row[0]))

        return await self._db.run(run)

    async def dead_letters(
        self, service: str, limit: int, after: str | None
    ) -> builtins.list[DeadLetter]:
        """Return dead letters in the order they died, after ``after``."""

        async def run(conn: Connection) -> list[DeadLetter]:
            position = 0
            if after is not None:
                found = await _dead_position(conn, service, after)
                if found is None:
                    return []
                position = found
            cursor = await conn.execute(_DEAD, (service, position, max(limit, 0)))
            letters = []
            for (
                subscription,
                attempts,
                error_type,
                message,
                failed_us,
                *event,
            ) in await cursor.fetchall():
                envelope = _envelope(*event)
                letters.append(
                    DeadLetter(
                        id=f"{subscription}|{envelope.id}",
                        subscription=str(subscription),
                        event=envelope,
                        error_type=str(error_type),
                        message=str(message),
                        attempts=int(str(attempts)),
                        failed_at=from_micros(int(str(failed_us))),
                    )
                )
            return letters

        return await self._db.run(run)

    async def services(self) -> builtins.list[ServiceRoutes]:
        """Return every service with routes or deliveries, by name."""

        async def run(conn: Connection) -> list[ServiceRoutes]:
            cursor = await conn.execute(
                "SELECT service FROM bus_routes UNION SELECT service FROM bus_deliveries ORDER BY 1"
            )
            names = [str(name) for (name,) in await cursor.fetchall()]
            return [await _summary(conn, name) for name in names]

        return await self._db.run(run)

    async def forget(self, service: str) -> ServiceRoutes:
        """Remove the service's routes and deliveries in one transaction."""

        async def run(conn: Connection) -> ServiceRoutes:
            removed = await _summary(conn, service)
            await conn.execute("DELETE FROM bus_routes WHERE service = %s", (service,))
            await conn.execute("DELETE FROM bus_deliveries WHERE service = %s", (service,))
            return removed

        return await self._db.transaction(run)

    async def prune(self, before: datetime) -> int:
        """Delete old events that have no delivery left."""

        async def run(conn: Connection) -> int:
            cursor = await conn.execute(_PRUNE, (micros(before),))
            return cursor.rowcount

        return await self._db.run(run)

    async def redrive(self, service: str, ids: Sequence[str] | None, now: datetime) -> int:
        """Make dead letters waiting again with fresh attempts."""
        now_us = micros(now)
        keys = [k for k in (split_dead_letter_id(i) for i in ids or ()) if k is not None]

        async def run(conn: Connection) -> int:
            if ids is None:
                cursor = await conn.execute(_REDRIVE, (now_us, service))
                return cursor.rowcount
            count = 0
            for subscription, event_id in keys:
                cursor = await conn.execute(
                    _REDRIVE + " AND subscription = %s AND event_seq = "
                    "(SELECT seq FROM bus_events WHERE id = %s)",
                    (now_us, service, subscription, event_id),
                )
                count += cursor.rowcount
            return count

        redriven = await self._db.transaction(run)
        if redriven:
            self._db.announce("events")
        return redriven


async def _summary(conn: Connection, service: str) -> ServiceRoutes:
    cursor = await conn.execute(
        "SELECT DISTINCT subscription FROM bus_routes WHERE service = %s ORDER BY 1", (service,)
    )
    subscriptions = tuple(str(name) for (name,) in await cursor.fetchall())
    cursor = await conn.execute(
        "SELECT count(*) FILTER (WHERE status <> 'dead'), count(*) FILTER (WHERE status = 'dead') "
        "FROM bus_deliveries WHERE service = %s",
        (service,),
    )
    row = await cursor.fetchone()
    waiting, dead = (0, 0) if row is None else (int(str(row[0])), int(str(row[1])))
    return ServiceRoutes(service=service, subscriptions=subscriptions, waiting=waiting, dead=dead)


async def _publish(conn: Connection, envelopes: Sequence[EventEnvelope]) -> int:
    new = 0
    routes: dict[str, list[Route]] = {}
    deliveries: list[tuple[str, str, int, int]] = []
    for envelope in envelopes:
        time_us = micros(envelope.time)
        cursor = await conn.execute(
            "INSERT INTO bus_events (id, source, name, time_us, payload) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING seq",
            (envelope.id, envelope.source, envelope.name, time_us, dump_json(envelope.payload)),
        )
        row = await cursor.fetchone()
        if row is None:
            continue  # published before: its deliveries exist already
        new += 1
        seq = int(str(row[0]))
        if envelope.name not in routes:
            found = await conn.execute(
                "SELECT service, subscription, pattern FROM bus_routes WHERE event = %s",
                (envelope.name,),
            )
            routes[envelope.name] = [
                Route(
                    service=str(service),
                    subscription=str(subscription),
                    patterns=(json.loads(str(pattern)),),
                )
                for service, subscription, pattern in await found.fetchall()
            ]
        targets = {
            (route.service, route.subscription)
            for route in routes[envelope.name]
            if route.accepts(envelope)
        }
        deliveries += [(service, name, seq, time_us) for service, name in sorted(targets)]
    if deliveries:
        async with conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO bus_deliveries (service, subscription, event_seq, status, "
                "not_before_us) VALUES (%s, %s, %s, 'waiting', %s) ON CONFLICT DO NOTHING",
                deliveries,
            )
    return new


async def _settle(conn: Connection, outcomes: Sequence[Outcome]) -> int:
    applied = 0
    for outcome in outcomes:
        claim = outcome.claim
        key = (claim.service, claim.subscription, claim.lease, claim.envelope.id)
        if outcome.kind == "done":
            cursor = await conn.execute(f"DELETE FROM bus_deliveries {_HELD}", key)
        elif outcome.kind == "retry":
            assert outcome.not_before is not None
            cursor = await conn.execute(
                "UPDATE bus_deliveries SET not_before_us = %s, lease = NULL, until = 0, "
                f"error_type = %s, message = %s {_HELD}",
                (micros(outcome.not_before), outcome.error_type, outcome.message, *key),
            )
        else:
            cursor = await conn.execute(
                "UPDATE bus_deliveries SET status = 'dead', lease = NULL, until = 0, "
                "error_type = %s, message = %s, failed_us = %s, dead_seq = nextval('bus_dead_seq') "
                f"{_HELD}",
                (outcome.error_type, outcome.message, micros(outcome.at), *key),
            )
        applied += cursor.rowcount
    return applied


async def _dead_position(conn: Connection, service: str, id_: str) -> int | None:
    parts = split_dead_letter_id(id_)
    if parts is None:
        return None
    cursor = await conn.execute(
        "SELECT d.dead_seq FROM bus_deliveries d JOIN bus_events e ON e.seq = d.event_seq "
        "WHERE d.service = %s AND d.subscription = %s AND e.id = %s AND d.status = 'dead'",
        (service, *parts),
    )
    row = await cursor.fetchone()
    return None if row is None else int(str(row[0]))
