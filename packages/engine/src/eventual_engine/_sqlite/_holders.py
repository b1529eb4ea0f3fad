"""Leases of dead processes on this machine, released when the file is opened.

A process killed while it held claims (an execution's batch, task attempts,
timers) leaves leases nobody will renew. Waiting for them to lapse (30 s by
default) is only needed when the holder may still be alive; when its owner name
says it ran on this machine and that process is gone, the leases are released
at once, so a restarted ``eventual local`` resumes the work immediately.
"""

from __future__ import annotations

import sqlite3
import time

from eventual.spi import holder_gone

__all__ = ["release_dead_holders"]

_TABLES = ("queue_claims", "tasks", "timers")


def release_dead_holders(conn: sqlite3.Connection) -> int:
    """Expire the unexpired leases whose holder is certainly gone.

    Args:
        conn: A connection in autocommit mode (``isolation_level=None``).

    Returns:
        How many leases were released.
    """
    now = time.time()
    owners: set[str] = set()
    for table in _TABLES:
        rows = conn.execute(
            f"SELECT DISTINCT owner FROM {table} WHERE owner IS NOT NULL AND until > ?", (now,)
        ).fetchall()
        owners.update(str(row[0]) for row in rows)
    dead = [(owner,) for owner in sorted(owners) if holder_gone(owner)]
    if not dead:
        return 0
    released = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table in _TABLES:
            released += conn.executemany(
                f"UPDATE {table} SET until = 0 WHERE owner = ?", dead
            ).rowcount
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return released
