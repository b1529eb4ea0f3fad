"""``TimerService`` on PostgreSQL: durable timers, claimed with a lease, fired at least once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from eventual.spi import TimerRequest, from_micros, load_timer, micros

from .._database import Connection, Database
from ._writes import NOW, schedule

__all__ = ["PostgresTimers"]

# One statement picks and claims; SKIP LOCKED lets timer workers of other
# processes claim other due timers at the same moment instead of waiting.
_CLAIM_DUE = f"""
    UPDATE timers SET owner = %s, until = {NOW} + %s
    WHERE id IN (
        SELECT id FROM timers WHERE due_us <= %s AND until <= {NOW}
        ORDER BY due_us, id LIMIT %s FOR UPDATE SKIP LOCKED
    )
    RETURNING due_us, id, timer
"""
_NEXT_DUE = f"SELECT min(due_us) FROM timers WHERE until <= {NOW}"


class PostgresTimers:
    """Durable timers, in the backend's schema."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def schedule(self, timers: Sequence[TimerRequest]) -> None:
        """Schedule timers; a timer with a known id is replaced (and unclaimed)."""
        if timers:
            await self._db.atomic(lambda conn: schedule(conn, timers))
            self._db.announce("timers")

    async def claim_due(
        self, owner: str, now: datetime, limit: int, lease: timedelta
    ) -> list[TimerRequest]:
        """Claim up to ``limit`` timers due at ``now``, earliest first (ties by id).

        A claimed timer is not returned again until ``lease`` of real time passes
        without :meth:`complete`.
        """
        if limit <= 0:
            return []
        params = (owner, lease.total_seconds(), micros(now), limit)

        async def run(conn: Connection) -> list[TimerRequest]:
            cursor = await conn.execute(_CLAIM_DUE, params)
            rows = sorted(
                (int(str(due)), str(id_), str(text)) for due, id_, text in await cursor.fetchall()
            )
            return [load_timer(text) for _, _, text in rows]

        return await self._db.run(run)

    async def complete(self, timer_ids: Sequence[str]) -> None:
        """Delete timers that have fired."""
        if not timer_ids:
            return

        async def run(conn: Connection) -> None:
            await conn.execute("DELETE FROM timers WHERE id = ANY(%s)", (list(timer_ids),))

        await self._db.run(run)

    async def next_due(self) -> datetime | None:
        """Return when the earliest unclaimed timer is due (UTC), or None."""

        async def run(conn: Connection) -> datetime | None:
            cursor = await conn.execute(_NEXT_DUE)
            row = await cursor.fetchone()
            return None if row is None or row[0] is None else from_micros(int(str(row[0])))

        return await self._db.run(run)
