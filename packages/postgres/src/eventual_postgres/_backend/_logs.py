"""``LogStore`` on PostgreSQL: log entries per execution, in the backend's schema."""

from __future__ import annotations

import json
from collections.abc import Sequence

import attrs

from eventual.codec import decode, encode
from eventual.spi import LogEntry, dump_json

from .._database import Connection, Database

__all__ = ["PostgresLogs"]

_APPEND = """
    INSERT INTO logs (execution_id, key, entry) VALUES (%s, %s, %s)
    ON CONFLICT (execution_id, key) DO NOTHING
"""
_READ = """
    SELECT seq, entry FROM logs WHERE execution_id = %s AND seq > %s ORDER BY seq LIMIT %s
"""


class PostgresLogs:
    """Log entries kept per execution; a position is the row's ``seq``.

    Positions of one execution grow but need not be consecutive (the sequence
    is the schema's), which is all ``read_logs(after=...)`` needs.
    """

    def __init__(self, database: Database) -> None:
        self._db = database

    async def append_logs(self, entries: Sequence[LogEntry]) -> None:
        """Store entries; one whose ``(execution_id, key)`` is stored already is skipped."""
        rows = [(e.execution_id, e.key, dump_json(encode(e, LogEntry))) for e in entries]
        if not rows:
            return

        async def run(conn: Connection) -> None:
            async with conn.cursor() as cursor:
                await cursor.executemany(_APPEND, rows)

        await self._db.atomic(run)

    async def read_logs(
        self, execution_id: str, after: int = 0, limit: int = 1000
    ) -> list[LogEntry]:
        """Return the execution's entries with ``position > after``, oldest first."""

        async def run(conn: Connection) -> list[LogEntry]:
            cursor = await conn.execute(_READ, (execution_id, after, max(limit, 0)))
            return [
                attrs.evolve(
                    decode(json.loads(str(text)), LogEntry, path="log"), position=int(str(seq))
                )
                for seq, text in await cursor.fetchall()
            ]

        return await self._db.run(run)
