"""``TaskDispatch`` on SQLite: task attempts claimed with renewable leases."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from eventual.codec import JsonValue
from eventual.spi import InboundBatch, InboundMessage, Lease, TaskRequest
from eventual.sqlite import Database

from ._convert import EARLIEST, EARLIEST_US, from_micros, load_task, micros
from ._queue import take_one
from ._writes import enqueue

__all__ = ["SqliteTasks"]

# Dispatch order is the rowid ``seq``; picking and claiming is one
# statement under the write lock, so two processes never claim one attempt.
_CLAIM = """
    UPDATE tasks SET owner = ?, until = ?
    WHERE seq IN (
        SELECT seq FROM tasks WHERE not_before_us <= ? AND until <= ? ORDER BY seq LIMIT ?
    )
    RETURNING seq, task
"""
_RENEW = "UPDATE tasks SET until = ? WHERE token = ? AND owner = ?"
_HEARTBEAT = "UPDATE tasks SET heartbeat_us = ? WHERE token = ?"
_NEXT_READY = "SELECT MIN(not_before_us) FROM tasks WHERE until <= ?"


class SqliteTasks:
    """Task attempts waiting for, or held by, task workers, in the backend's database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def claim(
        self, owner: str, now: datetime, limit: int, lease: timedelta
    ) -> list[TaskRequest]:
        """Claim up to ``limit`` attempts whose ``not_before`` is at or before ``now``.

        Attempts come in dispatch order; an attempt whose claim lapsed is claimed
        again.
        """
        if limit <= 0:
            return []
        now_us = micros(now)
        seconds = lease.total_seconds()

        def run(conn: sqlite3.Connection) -> list[TaskRequest]:
            real = time.time()
            rows = conn.execute(_CLAIM, (owner, real + seconds, now_us, real, limit)).fetchall()
            rows.sort()  # RETURNING gives rows in no particular order
            return [load_task(text) for _, text in rows]

        return await self._db.write(run)

    async def renew(self, owner: str, tokens: Sequence[str], lease: timedelta) -> None:
        """Extend the claims ``owner`` holds; tokens claimed by others or gone are skipped."""
        if not tokens:
            return
        seconds = lease.total_seconds()

        def run(conn: sqlite3.Connection) -> None:
            until = time.time() + seconds
            conn.executemany(_RENEW, [(until, token, owner) for token in tokens])

        await self._db.write(run)

    async def heartbeat(self, token: str, now: datetime, details: JsonValue) -> bool:
        """Record a heartbeat's time; False when the attempt is gone.

        ``details`` are not stored: nothing reads them back (as in memory).
        """
        params = (micros(now), token)

        def run(conn: sqlite3.Connection) -> bool:
            return conn.execute(_HEARTBEAT, params).rowcount == 1

        return await self._db.write(run)

    async def last_heartbeat(self, token: str) -> datetime | None:
        """Return when the attempt last sent a heartbeat (UTC), or None."""

        def run(conn: sqlite3.Connection) -> datetime | None:
            row = conn.execute(
                "SELECT heartbeat_us FROM tasks WHERE token = ?", (token,)
            ).fetchone()
            return None if row is None or row[0] is None else from_micros(row[0])

        return await self._db.read(run)

    async def finish(
        self, token: str, outcome: InboundMessage | None = None, *, claim: Lease | None = None
    ) -> InboundBatch | None:
        """Forget a completed attempt, queueing its outcome in the same transaction.

        With ``claim``, the outcome's execution is claimed in that transaction too
        when nobody holds it, and its queued messages are returned.
        """

        def write(conn: sqlite3.Connection) -> InboundBatch | None:
            conn.execute("DELETE FROM tasks WHERE token = ?", (token,))
            if outcome is None:
                return None
            enqueue(conn, [outcome])
            if claim is None:
                return None
            return take_one(conn, outcome.execution_id, claim.owner, claim.duration.total_seconds())

        return await self._db.write(write)

    async def next_ready(self) -> datetime | None:
        """Return the earliest ``not_before`` of unclaimed attempts, or None.

        An attempt that may start at once counts as ``datetime.min`` (UTC), as in
        the in-memory backend.
        """

        def run(conn: sqlite3.Connection) -> datetime | None:
            (ready,) = conn.execute(_NEXT_READY, (time.time(),)).fetchone()
            if ready is None:
                return None
            return EARLIEST if ready == EARLIEST_US else from_micros(ready)

        return await self._db.read(run)

    async def pending(self) -> int:
        """Return how many attempts are waiting or running."""

        def run(conn: sqlite3.Connection) -> int:
            return int(conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0])

        return await self._db.read(run)
