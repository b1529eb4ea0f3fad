"""``LogStore`` on PostgreSQL: ``eventual.logger`` lines per execution, in one statement a batch.

Positions are counted per execution in ``log_positions``, not taken from a
sequence. A sequence hands out numbers when rows are inserted, and transactions
commit in any order: a follower that has read position 12 would never see an 11
that committed after it (two task attempts of one execution logging at once on
two machines). The counter row is locked by the statement that adds to it until
that statement commits, so a writer with higher positions always commits after
the one with lower positions, and a reader at ``after=n`` misses nothing.

A batch is one statement: it leaves out lines whose key is stored already (a
step or an attempt that ran again), adds the rest to their executions' counters
(locked in the order of execution ids, so two batches never deadlock) and
inserts them at the positions counted. A line a concurrent writer stored under
the same key in the meantime is skipped by ``ON CONFLICT DO NOTHING``, leaving
its position unused, which readers do not notice.

Lines are kept as long as the database, as on SQLite; nothing expires them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

import attrs

from eventual.codec import decode, encode
from eventual.spi import LogEntry, dump_json

from .._database import Connection, Database

__all__ = ["APPEND", "PostgresLogs", "append_parameters"]

APPEND: Final = """
    WITH fresh AS (
        SELECT DISTINCT ON (given.execution_id, given.key)
            given.execution_id, given.key, given.entry, given.n
        FROM unnest(%s::text[], %s::text[], %s::text[])
            WITH ORDINALITY AS given(execution_id, key, entry, n)
        WHERE NOT EXISTS (
            SELECT FROM logs
            WHERE logs.execution_id = given.execution_id AND logs.key = given.key
        )
        ORDER BY given.execution_id, given.key, given.n
    ), counted AS (
        INSERT INTO log_positions AS counter (execution_id, last)
        SELECT execution_id, count(*) FROM fresh GROUP BY execution_id ORDER BY execution_id
        ON CONFLICT (execution_id) DO UPDATE SET last = counter.last + EXCLUDED.last
        RETURNING execution_id, last
    )
    INSERT INTO logs (execution_id, position, key, entry)
    SELECT
        fresh.execution_id,
        counted.last
            - count(*) OVER (PARTITION BY fresh.execution_id)
            + row_number() OVER (PARTITION BY fresh.execution_id ORDER BY fresh.n),
        fresh.key,
        fresh.entry
    FROM fresh JOIN counted USING (execution_id)
    ON CONFLICT (execution_id, key) DO NOTHING
"""
_READ: Final = """
    SELECT position, entry FROM logs
    WHERE execution_id = %s AND position > %s
    ORDER BY position LIMIT %s
"""


def append_parameters(entries: Sequence[LogEntry]) -> tuple[list[str], list[str], list[str]]:
    """Return the parameters of :data:`APPEND` storing ``entries``, in their order."""
    return (
        [e.execution_id for e in entries],
        [e.key for e in entries],
        [dump_json(encode(e, LogEntry)) for e in entries],
    )


class PostgresLogs:
    """Log entries kept per execution, in the backend's schema; positions count from 1."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def append_logs(self, entries: Sequence[LogEntry]) -> None:
        """Store entries; one whose ``(execution_id, key)`` is stored already is skipped."""
        if not entries:
            return
        params = append_parameters(entries)

        async def run(conn: Connection) -> None:
            await conn.execute(APPEND, params)

        await self._db.run(run)

    async def read_logs(
        self, execution_id: str, after: int = 0, limit: int = 1000
    ) -> list[LogEntry]:
        """Return the execution's entries with ``position > after``, oldest first."""
        if limit <= 0:
            return []

        async def run(conn: Connection) -> list[LogEntry]:
            cursor = await conn.execute(_READ, (execution_id, after, limit))
            return [
                attrs.evolve(
                    decode(json.loads(str(text)), LogEntry, path="log"),
                    position=int(str(position)),
                )
                for position, text in await cursor.fetchall()
            ]

        return await self._db.run(run)
