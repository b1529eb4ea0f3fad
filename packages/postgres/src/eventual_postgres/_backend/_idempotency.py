"""``IdempotencyStore`` on PostgreSQL: one row per key, taken by a conditional upsert.

``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` takes a key in one statement: of
two concurrent takers the second waits for the first's row, then finds it live
and takes nothing. Expired rows are deleted, through the expiry index, as keys
are taken.
"""

from __future__ import annotations

import json
from datetime import datetime

from eventual.spi import KeptAnswer, dump_json, from_micros, micros

from .._database import Connection, Database

__all__ = ["PostgresIdempotency"]

_TAKE = """
    INSERT INTO idempotency AS kept (key, fingerprint, expires_us, held_us, answer)
    VALUES (%(key)s, %(fingerprint)s, %(expires)s, %(held)s, NULL)
    ON CONFLICT (key) DO UPDATE SET
        fingerprint = EXCLUDED.fingerprint, expires_us = EXCLUDED.expires_us,
        held_us = EXCLUDED.held_us, answer = NULL
    WHERE kept.expires_us <= %(now)s OR (kept.answer IS NULL AND kept.held_us <= %(now)s)
    RETURNING key
"""
_KEEP = """
    INSERT INTO idempotency (key, fingerprint, expires_us, held_us, answer)
    VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT (key) DO UPDATE SET
        fingerprint = EXCLUDED.fingerprint, expires_us = EXCLUDED.expires_us,
        held_us = EXCLUDED.held_us, answer = EXCLUDED.answer
"""
_SELECT = "SELECT fingerprint, expires_us, held_us, answer FROM idempotency WHERE key = %s"


class PostgresIdempotency:
    """Answers kept under idempotency keys, in the backend's schema."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def take(self, taking: KeptAnswer, now: datetime) -> KeptAnswer | None:
        """Take a free key; return the live entry instead when there is one."""
        params = {
            "key": taking.key,
            "fingerprint": taking.fingerprint,
            "expires": micros(taking.expires_at),
            "held": micros(taking.held_until),
            "now": micros(now),
        }

        async def run(conn: Connection) -> KeptAnswer | None:
            await conn.execute("DELETE FROM idempotency WHERE expires_us <= %s", (params["now"],))
            taken = await (await conn.execute(_TAKE, params)).fetchone()
            if taken is not None:
                return None
            row = await (await conn.execute(_SELECT, (taking.key,))).fetchone()
            assert row is not None, "the conflicting row is locked by this transaction"
            fingerprint, expires_us, held_us, answer = row
            return KeptAnswer(
                key=taking.key,
                fingerprint=str(fingerprint),
                answer=None if answer is None else json.loads(str(answer)),
                expires_at=from_micros(int(str(expires_us))),
                held_until=from_micros(int(str(held_us))),
            )

        return await self._db.transaction(run)

    async def keep(self, kept: KeptAnswer) -> None:
        """Store the answer under its key."""
        answer = None if kept.answer is None else dump_json(kept.answer)
        params = (
            kept.key,
            kept.fingerprint,
            micros(kept.expires_at),
            micros(kept.held_until),
            answer,
        )

        async def run(conn: Connection) -> None:
            await conn.execute(_KEEP, params)

        await self._db.run(run)

    async def forget(self, key: str, fingerprint: str) -> None:
        """Free a key taken with this fingerprint."""

        async def run(conn: Connection) -> None:
            await conn.execute(
                "DELETE FROM idempotency WHERE key = %s AND fingerprint = %s", (key, fingerprint)
            )

        await self._db.run(run)
