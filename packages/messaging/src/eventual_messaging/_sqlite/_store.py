"""``SqliteStore``: the bus's storage in SQLite, safe for several processes on one file.

Every write runs in a ``BEGIN IMMEDIATE`` transaction, which SQLite serialises
across processes: publishing inserts the event and its deliveries atomically (an
id seen before inserts nothing), and a claim reads and leases rows in one
transaction, so two processes never claim the same delivery while a lease holds.
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from eventual.spi import DeadLetter, EventEnvelope
from eventual.sqlite import Database, Synchronous

from .._patterns import matches_envelope
from .._store import (
    Claim,
    Outcome,
    Route,
    ServiceRoutes,
    dead_letter_id,
    split_dead_letter_id,
)
from ._schema import open_bus

__all__ = ["SqliteStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_CLAIM = """
    SELECT d.subscription, d.event_seq, d.attempts, e.id, e.source, e.name, e.time_us, e.payload
    FROM bus_deliveries d JOIN bus_events e ON e.seq = d.event_seq
    WHERE d.service = ? AND d.status = 'waiting' AND d.not_before_us <= ? AND d.until <= ?
    ORDER BY d.not_before_us, d.event_seq
    LIMIT ?
"""
_DEAD = """
    SELECT d.subscription, d.attempts, d.error_type, d.message, d.failed_us, d.dead_seq,
        e.id, e.source, e.name, e.time_us, e.payload
    FROM bus_deliveries d JOIN bus_events e ON e.seq = d.event_seq
    WHERE d.service = ? AND d.status = 'dead' AND d.dead_seq > ?
    ORDER BY d.dead_seq
    LIMIT ?
"""


def to_us(when: datetime) -> int:
    """Return a timezone-aware time as epoch microseconds (a sortable integer)."""
    return (when - _EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    """Return epoch microseconds as a UTC datetime."""
    return _EPOCH + timedelta(microseconds=us)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _envelope(id_: str, source: str, name: str, time_us: int, payload: str) -> EventEnvelope:
    return EventEnvelope(
        id=id_, source=source, name=name, time=from_us(time_us), payload=json.loads(payload)
    )


class SqliteStore:
    """A ``BusStore`` in a SQLite file (tables prefixed ``bus_``)."""

    def __init__(self, path: str, *, busy_timeout: float, synchronous: Synchronous) -> None:
        self._db = Database(
            path, busy_timeout=busy_timeout, synchronous=synchronous, prepare=open_bus
        )

    @property
    def path(self) -> str:
        """The database file."""
        return self._db.path

    async def open(self) -> None:
        """Create the file and the bus tables if needed."""
        await self._db.read(lambda conn: None)

    async def close(self) -> None:
        """Finish pending calls and close the connection."""
        await self._db.close()

    async def register(self, service: str, routes: Sequence[Route]) -> None:
        """Replace the service's routes."""
        rows = [
            (service, route.subscription, name, position, _dumps(pattern))
            for route in routes
            for position, pattern in enumerate(route.patterns)
            for name in pattern.get("detail-type", ())[:1]
        ]

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM bus_routes WHERE service = ?", (service,))
            conn.executemany("INSERT INTO bus_routes VALUES (?, ?, ?, ?, ?)", rows)

        await self._db.write(run)

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> int:
        """Store new envelopes and their deliveries in one transaction."""
        prepared = [
            (e, e.id, e.source, e.name, to_us(e.time), _dumps(e.payload)) for e in envelopes
        ]
        return await self._db.write(lambda conn: _publish(conn, prepared))

    async def claim(
        self, service: str, now: datetime, owner: str, limit: int, lease_seconds: float
    ) -> builtins.list[Claim]:
        """Claim due, unleased deliveries of ``service``, earliest first."""
        if limit <= 0:
            return []
        now_us = to_us(now)

        def run(conn: sqlite3.Connection) -> list[Claim]:
            wall = time.time()
            rows = conn.execute(_CLAIM, (service, now_us, wall, limit)).fetchall()
            claims = []
            for subscription, event_seq, attempts, *event in rows:
                lease = f"{owner}:{os.urandom(6).hex()}"
                conn.execute(
                    "UPDATE bus_deliveries SET attempts = ?, lease = ?, until = ? "
                    "WHERE service = ? AND subscription = ? AND event_seq = ?",
                    (attempts + 1, lease, wall + lease_seconds, service, subscription, event_seq),
                )
                claims.append(
                    Claim(
                        service=service,
                        subscription=subscription,
                        envelope=_envelope(*event),
                        attempt=attempts + 1,
                        lease=lease,
                    )
                )
            return claims

        # A read would be enough to find nothing: most polls find nothing, and a
        # write transaction would take the lock every process shares.
        if not await self._db.read(lambda conn: _has_due(conn, service, now_us)):
            return []
        return await self._db.write(run)

    async def renew(self, claims: Sequence[Claim], lease_seconds: float) -> None:
        """Extend the leases still held."""
        until = time.time() + lease_seconds
        rows = [(until, c.lease, c.service, c.subscription) for c in claims]
        await self._db.write(
            lambda conn: conn.executemany(
                "UPDATE bus_deliveries SET until = ? WHERE lease = ? AND service = ? "
                "AND subscription = ? AND status = 'waiting'",
                rows,
            )
        )

    async def settle(self, outcomes: Sequence[Outcome]) -> int:
        """Apply outcomes whose claim is still held, in one transaction."""
        return await self._db.write(lambda conn: _settle(conn, outcomes))

    async def release(self, claims: Sequence[Claim]) -> None:
        """Give back interrupted claims still held, uncounted (one transaction)."""
        rows = [(c.lease, c.service, c.subscription) for c in claims]
        await self._db.write(
            lambda conn: conn.executemany(
                "UPDATE bus_deliveries SET attempts = attempts - 1, lease = NULL, until = 0 "
                "WHERE lease = ? AND service = ? AND subscription = ? AND status = 'waiting'",
                rows,
            )
        )

    async def next_due(self, service: str) -> datetime | None:
        """Return the earliest due time of unleased waiting deliveries."""

        def run(conn: sqlite3.Connection) -> datetime | None:
            row = conn.execute(
                "SELECT MIN(not_before_us) FROM bus_deliveries "
                "WHERE service = ? AND status = 'waiting' AND until <= ?",
                (service, time.time()),
            ).fetchone()
            return None if row[0] is None else from_us(row[0])

        return await self._db.read(run)

    async def pending(self, service: str) -> int:
        """Count waiting and running deliveries."""

        def run(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT COUNT(*) FROM bus_deliveries WHERE service = ? AND status = 'waiting'",
                (service,),
            ).fetchone()
            return int(row[0])

        return await self._db.read(run)

    async def dead_letters(
        self, service: str, limit: int, after: str | None
    ) -> builtins.list[DeadLetter]:
        """Return dead letters in the order they died, after ``after``."""

        def run(conn: sqlite3.Connection) -> list[DeadLetter]:
            position: int | None = 0
            if after is not None:
                position = _dead_position(conn, service, after)
                if position is None:
                    return []
            rows = conn.execute(_DEAD, (service, position, max(limit, 0))).fetchall()
            return [
                DeadLetter(
                    id=dead_letter_id(subscription, event[0]),
                    subscription=subscription,
                    event=_envelope(*event),
                    error_type=error_type,
                    message=message,
                    attempts=attempts,
                    failed_at=from_us(failed_us),
                )
                for subscription, attempts, error_type, message, failed_us, _, *event in rows
            ]

        return await self._db.read(run)

    async def services(self) -> builtins.list[ServiceRoutes]:
        """Return every service with routes or deliveries, by name."""

        def run(conn: sqlite3.Connection) -> list[ServiceRoutes]:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT service FROM bus_routes UNION SELECT service FROM bus_deliveries "
                    "ORDER BY 1"
                )
            ]
            return [_summary(conn, name) for name in names]

        return await self._db.read(run)

    async def forget(self, service: str) -> ServiceRoutes:
        """Remove the service's routes and deliveries in one transaction."""

        def run(conn: sqlite3.Connection) -> ServiceRoutes:
            removed = _summary(conn, service)
            conn.execute("DELETE FROM bus_routes WHERE service = ?", (service,))
            conn.execute("DELETE FROM bus_deliveries WHERE service = ?", (service,))
            return removed

        return await self._db.write(run)

    async def prune(self, before: datetime) -> int:
        """Delete old events that have no delivery left (one transaction)."""
        before_us = to_us(before)

        def run(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(_PRUNE, (before_us,))
            return cursor.rowcount

        return await self._db.write(run)

    async def redrive(self, service: str, ids: Sequence[str] | None, now: datetime) -> int:
        """Make dead letters waiting again with fresh attempts."""
        now_us = to_us(now)
        reset = (
            "UPDATE bus_deliveries SET status = 'waiting', attempts = 0, not_before_us = ?, "
            "lease = NULL, until = 0, error_type = NULL, message = NULL, failed_us = NULL, "
            "dead_seq = NULL WHERE service = ? AND status = 'dead'"
        )
        keys = [k for k in (split_dead_letter_id(i) for i in ids or ()) if k is not None]

        def run(conn: sqlite3.Connection) -> int:
            if ids is None:
                return conn.execute(reset, (now_us, service)).rowcount
            count = 0
            for subscription, event_id in keys:
                count += conn.execute(
                    reset + " AND subscription = ? AND event_seq = "
                    "(SELECT seq FROM bus_events WHERE id = ?)",
                    (now_us, service, subscription, event_id),
                ).rowcount
            return count

        return await self._db.write(run)


def _summary(conn: sqlite3.Connection, service: str) -> ServiceRoutes:
    subscriptions = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT subscription FROM bus_routes WHERE service = ? ORDER BY 1",
            (service,),
        )
    ]
    counts = dict(
        conn.execute(
            "SELECT status = 'dead', COUNT(*) FROM bus_deliveries WHERE service = ? "
            "GROUP BY status = 'dead'",
            (service,),
        ).fetchall()
    )
    return ServiceRoutes(
        service=service,
        subscriptions=tuple(subscriptions),
        waiting=int(counts.get(0, 0)),
        dead=int(counts.get(1, 0)),
    )


_PRUNE = """
    DELETE FROM bus_events
    WHERE time_us < ? AND seq NOT IN (SELECT event_seq FROM bus_deliveries)
"""


def _has_due(conn: sqlite3.Connection, service: str, now_us: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM bus_deliveries WHERE service = ? AND status = 'waiting' "
        "AND not_before_us <= ? AND until <= ? LIMIT 1",
        (service, now_us, time.time()),
    ).fetchone()
    return row is not None


def _publish(
    conn: sqlite3.Connection, prepared: list[tuple[EventEnvelope, str, str, str, int, str]]
) -> int:
    new = 0
    routes: dict[str, list[tuple[str, str, Mapping[str, Any]]]] = {}
    for envelope, id_, source, name, time_us, payload in prepared:
        cursor = conn.execute(
            "INSERT INTO bus_events (id, source, name, time_us, payload) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            (id_, source, name, time_us, payload),
        )
        if cursor.rowcount == 0:
            continue  # published before: its deliveries exist already
        new += 1
        seq = cursor.lastrowid
        if name not in routes:
            routes[name] = [
                (service, subscription, json.loads(pattern))
                for service, subscription, pattern in conn.execute(
                    "SELECT service, subscription, pattern FROM bus_routes WHERE event = ?",
                    (name,),
                )
            ]
        targets = {
            (service, subscription)
            for service, subscription, pattern in routes[name]
            if matches_envelope(pattern, envelope)
        }
        conn.executemany(
            "INSERT INTO bus_deliveries (service, subscription, event_seq, status, not_before_us) "
            "VALUES (?, ?, ?, 'waiting', ?) ON CONFLICT DO NOTHING",
            [(service, subscription, seq, time_us) for service, subscription in sorted(targets)],
        )
    return new


def _settle(conn: sqlite3.Connection, outcomes: Sequence[Outcome]) -> int:
    applied = 0
    held = (
        "WHERE service = ? AND subscription = ? AND lease = ? AND status = 'waiting' "
        "AND event_seq = (SELECT seq FROM bus_events WHERE id = ?)"
    )
    for outcome in outcomes:
        claim = outcome.claim
        key = (claim.service, claim.subscription, claim.lease, claim.envelope.id)
        if outcome.kind == "done":
            cursor = conn.execute(f"DELETE FROM bus_deliveries {held}", key)
        elif outcome.kind == "retry":
            assert outcome.not_before is not None
            cursor = conn.execute(
                f"UPDATE bus_deliveries SET not_before_us = ?, lease = NULL, until = 0, "
                f"error_type = ?, message = ? {held}",
                (to_us(outcome.not_before), outcome.error_type, outcome.message, *key),
            )
        else:
            (dead_seq,) = conn.execute(
                "SELECT COALESCE(MAX(dead_seq), 0) + 1 FROM bus_deliveries WHERE service = ?",
                (claim.service,),
            ).fetchone()
            cursor = conn.execute(
                f"UPDATE bus_deliveries SET status = 'dead', lease = NULL, until = 0, "
                f"error_type = ?, message = ?, failed_us = ?, dead_seq = ? {held}",
                (outcome.error_type, outcome.message, to_us(outcome.at), dead_seq, *key),
            )
        applied += cursor.rowcount
    return applied


def _dead_position(conn: sqlite3.Connection, service: str, id_: str) -> int | None:
    parts = split_dead_letter_id(id_)
    if parts is None:
        return None
    row = conn.execute(
        "SELECT d.dead_seq FROM bus_deliveries d JOIN bus_events e ON e.seq = d.event_seq "
        "WHERE d.service = ? AND d.subscription = ? AND e.id = ? AND d.status = 'dead'",
        (service, *parts),
    ).fetchone()
    return None if row is None else int(row[0])
