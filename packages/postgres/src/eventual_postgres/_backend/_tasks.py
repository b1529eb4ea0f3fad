"""``TaskDispatch`` on PostgreSQL: task attempts claimed with renewable leases.

A claim picks rows in dispatch order with ``FOR UPDATE SKIP LOCKED`` and marks
them in the same statement, so workers on many machines claiming at once never
take one attempt twice and never wait on each other's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from eventual.codec import JsonValue
from eventual.spi import (
    InboundBatch,
    InboundMessage,
    Lease,
    TaskRequest,
    from_micros,
    load_task,
    micros,
)

from .._database import Connection, Database
from ._queue import take_one
from ._wakes import Holders, Holding, send_holders
from ._writes import EARLIEST, EARLIEST_US, NOW, enqueue

__all__ = ["PostgresTasks"]

_CLAIM = f"""
    UPDATE tasks SET owner = %s, until = {NOW} + %s
    WHERE seq IN (
        SELECT seq FROM tasks WHERE not_before_us <= %s AND until <= {NOW}
        ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED
    )
    RETURNING seq, task
"""
_RENEW = f"UPDATE tasks SET until = {NOW} + %s WHERE token = ANY(%s) AND owner = %s"
_HEARTBEAT = "UPDATE tasks SET heartbeat_us = %s WHERE token = %s"
_NEXT_READY = f"SELECT min(not_before_us) FROM tasks WHERE until <= {NOW}"


class PostgresTasks:
    """Task attempts waiting for, or held by, task workers, in the backend's schema."""

    def __init__(self, database: Database, holding: Holding) -> None:
        self._db = database
        self._holding = holding

    async def claim(
        self, owner: str, now: datetime, limit: int, lease: timedelta
    ) -> list[TaskRequest]:
        """Claim up to ``limit`` attempts whose ``not_before`` is at or before ``now``.

        Attempts come in dispatch order; an attempt whose claim lapsed is claimed
        again.
        """
        if limit <= 0:
            return []
        params = (owner, lease.total_seconds(), micros(now), limit)

        async def run(conn: Connection) -> list[TaskRequest]:
            cursor = await conn.execute(_CLAIM, params)
            rows = sorted((int(str(seq)), str(text)) for seq, text in await cursor.fetchall())
            return [load_task(text) for _, text in rows]

        return await self._db.run(run)

    async def renew(self, owner: str, tokens: Sequence[str], lease: timedelta) -> None:
        """Extend the claims ``owner`` holds; tokens claimed by others or gone are skipped."""
        if not tokens:
            return
        params = (lease.total_seconds(), list(tokens), owner)

        async def run(conn: Connection) -> None:
            await conn.execute(_RENEW, params)

        await self._db.run(run)

    async def heartbeat(self, token: str, now: datetime, details: JsonValue) -> bool:
        """Record a heartbeat's time; False when the attempt is gone.

        ``details`` are not stored: nothing reads them back (as in memory).
        """
        params = (micros(now), token)

        async def run(conn: Connection) -> bool:
            cursor = await conn.execute(_HEARTBEAT, params)
            return cursor.rowcount == 1

        return await self._db.run(run)

    async def last_heartbeat(self, token: str) -> datetime | None:
        """Return when the attempt last sent a heartbeat (UTC), or None."""

        async def run(conn: Connection) -> datetime | None:
            cursor = await conn.execute("SELECT heartbeat_us FROM tasks WHERE token = %s", (token,))
            row = await cursor.fetchone()
            return None if row is None or row[0] is None else from_micros(int(str(row[0])))

        return await self._db.run(run)

    async def finish(
        self, token: str, outcome: InboundMessage | None = None, *, claim: Lease | None = None
    ) -> InboundBatch | None:
        """Forget a completed attempt, queueing its outcome in the same transaction.

        With ``claim``, the outcome's execution is claimed in that transaction too
        when nobody holds it, and its queued messages are returned.
        """
        if claim is not None:
            self._holding.owners.add(claim.owner)  # notifications naming it are this process's

        async def run(conn: Connection) -> tuple[InboundBatch | None, Holders | None]:
            await conn.execute("DELETE FROM tasks WHERE token = %s", (token,))
            if outcome is None:
                return None, None
            await enqueue(conn, [outcome])
            # Read with the next answer (or after the commit): no round trip of its own.
            holders = await send_holders(conn, [outcome.execution_id])
            if claim is None:
                return None, holders
            taken = await take_one(
                conn,
                outcome.execution_id,
                claim.owner,
                claim.duration.total_seconds(),
                self._holding,
            )
            return taken, holders

        taken, holders = await self._db.transaction(run, pipeline=True)
        if taken is None and holders is not None:
            self._db.announce(*await holders.loops())
        return taken

    async def next_ready(self) -> datetime | None:
        """Return the earliest ``not_before`` of unclaimed attempts, or None.

        An attempt that may start at once counts as ``datetime.min`` (UTC), as in
        the in-memory backend.
        """

        async def run(conn: Connection) -> datetime | None:
            cursor = await conn.execute(_NEXT_READY)
            row = await cursor.fetchone()
            if row is None or row[0] is None:
                return None
            ready = int(str(row[0]))
            return EARLIEST if ready == EARLIEST_US else from_micros(ready)

        return await self._db.run(run)

    async def pending(self) -> int:
        """Return how many attempts are waiting or running."""

        async def run(conn: Connection) -> int:
            cursor = await conn.execute("SELECT count(*) FROM tasks")
            row = await cursor.fetchone()
            return 0 if row is None else int(str(row[0]))

        return await self._db.run(run)
