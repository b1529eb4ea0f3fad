"""``LogStore`` on SQLite: log entries per execution, in the backend's database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import attrs

from eventual.codec import decode, encode
from eventual.spi import LogEntry, dump_json
from eventual.sqlite import Database

__all__ = ["SqliteLogs"]


class SqliteLogs:
    """Log entries kept per execution; a position is the row's place in the file."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def append_logs(self, entries: Sequence[LogEntry]) -> None:
        """Store entries; one whose ``(execution_id, key)`` is stored already is skipped."""
        rows = [(e.execution_id, e.key, dump_json(encode(e, LogEntry))) for e in entries]
        if rows:
            await self._db.write(
                lambda conn: conn.executemany(
                    "INSERT OR IGNORE INTO logs (execution_id, key, entry) VALUES (?, ?, ?)", rows
                )
            )

    async def read_logs(
        self, execution_id: str, after: int = 0, limit: int = 1000
    ) -> list[LogEntry]:
        """Return the execution's entries with ``position > after``, oldest first."""

        def run(conn: sqlite3.Connection) -> list[LogEntry]:
            rows = conn.execute(
                "SELECT seq, entry FROM logs WHERE execution_id = ? AND seq > ? "
                "ORDER BY seq LIMIT ?",
                (execution_id, after, limit),
            ).fetchall()
            return [
                attrs.evolve(decode(json.loads(text), LogEntry, path="log"), position=seq)
                for seq, text in rows
            ]

        return await self._db.read(run)
