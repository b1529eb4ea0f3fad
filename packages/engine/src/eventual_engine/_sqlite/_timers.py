"""``TimerService`` on SQLite: durable timers, claimed with a lease, fired at least once."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from eventual.spi import TimerRequest
from eventual.sqlite import Database

from ._convert import from_micros, load_timer, micros
from ._writes import schedule

__all__ = ["SqliteTimers"]

# One statement picks and claims: the rows are chosen and updated under the same
# write lock, so no other process can claim them in between.
_CLAIM_DUE = """
    UPDATE timers SET owner = ?, until = ?
    WHERE id IN (
        SELECT id FROM timers WHERE due_us <= ? AND until <= ? ORDER BY due_us, id LIMIT ?
    )
    RETURNING due_us, id, timer
"""
_NEXT_DUE = "SELECT MIN(due_us) FROM timers WHERE until <= ?"


class SqliteTimers:
    """Durable timers, in the backend's database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def schedule(self, timers: Sequence[TimerRequest]) -> None:
        """Schedule timers; a timer with a known id is replaced (and unclaimed)."""
        if timers:
            await self._db.write(lambda conn: schedule(conn, timers))

    async def claim_due(
        self, owner: str, now: datetime, limit: int, lease: timedelta
    ) -> list[TimerRequest]:
        """Claim up to ``limit`` timers due at ``now``, earliest first (ties by id).

        A claimed timer is not returned again until ``lease`` of real time passes
        without :meth:`complete`.
        """
        if limit <= 0:
            return []
        now_us = micros(now)
        seconds = lease.total_seconds()

        def run(conn: sqlite3.Connection) -> list[TimerRequest]:
            real = time.time()
            rows = conn.execute(_CLAIM_DUE, (owner, real + seconds, now_us, real, limit)).fetchall()
            # RETURNING gives rows in no particular order.
            rows.sort(key=lambda row: (row[0], row[1]))
            return [load_timer(text) for _, _, text in rows]

        return await self._db.write(run)

    async def complete(self, timer_ids: Sequence[str]) -> None:
        """Delete timers that have fired."""
        if timer_ids:
            await self._db.write(
                lambda conn: conn.executemany(
                    "DELETE FROM timers WHERE id = ?", [(timer_id,) for timer_id in timer_ids]
                )
            )

    async def next_due(self) -> datetime | None:
        """Return when the earliest unclaimed timer is due (UTC), or None."""

        def run(conn: sqlite3.Connection) -> datetime | None:
            (due,) = conn.execute(_NEXT_DUE, (time.time(),)).fetchone()
            return None if due is None else from_micros(due)

        return await self._db.read(run)
