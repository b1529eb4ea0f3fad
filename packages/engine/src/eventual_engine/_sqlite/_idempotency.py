"""``IdempotencyStore`` on SQLite: one row per key, taken and freed in write transactions."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from eventual.spi import KeptAnswer
from eventual.sqlite import Database

from ._convert import dump_json, from_micros, micros

__all__ = ["SqliteIdempotency"]

_SELECT = "SELECT fingerprint, expires_us, held_us, answer FROM idempotency WHERE key = ?"
_PUT = """
    INSERT OR REPLACE INTO idempotency (key, fingerprint, expires_us, held_us, answer)
    VALUES (?, ?, ?, ?, ?)
"""


class SqliteIdempotency:
    """Answers kept under idempotency keys, in the backend's database.

    Expired rows are deleted whenever a key is taken, through the index on their
    expiry, so the table holds about one retention window of keys.
    """

    def __init__(self, database: Database) -> None:
        self._db = database

    async def take(self, taking: KeptAnswer, now: datetime) -> KeptAnswer | None:
        """Take a free key; return the live entry instead when there is one."""

        def run(conn: sqlite3.Connection) -> KeptAnswer | None:
            row = conn.execute(_SELECT, (taking.key,)).fetchone()
            if row is not None:
                existing = _loaded(taking.key, row)
                if existing.live_at(now):
                    return existing
            conn.execute("DELETE FROM idempotency WHERE expires_us <= ?", (micros(now),))
            conn.execute(_PUT, _row(taking))
            return None

        return await self._db.write(run)

    async def keep(self, kept: KeptAnswer) -> None:
        """Store the answer under its key."""
        await self._db.write(lambda conn: conn.execute(_PUT, _row(kept)))

    async def forget(self, key: str, fingerprint: str) -> None:
        """Free a key taken with this fingerprint."""
        await self._db.write(
            lambda conn: conn.execute(
                "DELETE FROM idempotency WHERE key = ? AND fingerprint = ?", (key, fingerprint)
            )
        )


def _row(kept: KeptAnswer) -> tuple[str, str, int, int, str | None]:
    answer = None if kept.answer is None else dump_json(kept.answer)
    return (kept.key, kept.fingerprint, micros(kept.expires_at), micros(kept.held_until), answer)


def _loaded(key: str, row: tuple[str, int, int, str | None]) -> KeptAnswer:
    fingerprint, expires_us, held_us, answer = row
    return KeptAnswer(
        key=key,
        fingerprint=fingerprint,
        answer=None if answer is None else json.loads(answer),
        expires_at=from_micros(expires_us),
        held_until=from_micros(held_us),
    )
