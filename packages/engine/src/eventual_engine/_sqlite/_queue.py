"""``WorkflowQueue`` on SQLite: inbound messages, claimed one execution at a time.

A claim is a row of ``queue_claims`` with a random token and an expiry in
``time.time()`` seconds. Claims run in ``BEGIN IMMEDIATE`` transactions, which
SQLite serialises across every process using the file, so two owners can never
both see an execution as unclaimed and take it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from datetime import timedelta

from eventual import ExecutionStatus
from eventual.spi import InboundBatch, InboundMessage
from eventual.sqlite import Database

from .._ids import lease_token
from ._convert import load_event
from ._writes import enqueue

__all__ = ["SqliteQueue", "take", "take_one"]

_RUNNING = ExecutionStatus.RUNNING.value

# Executions with queued messages and no live claim, in order of arrival, with
# their status (NULL for an unknown execution).
_CANDIDATES = """
    SELECT inbox.execution_id, executions.status
    FROM inbox
    LEFT JOIN queue_claims ON queue_claims.execution_id = inbox.execution_id
    LEFT JOIN executions ON executions.id = inbox.execution_id
    WHERE queue_claims.until IS NULL OR queue_claims.until <= ?
    ORDER BY inbox.first_seq
    LIMIT ?
"""
_ONE = """
    SELECT executions.status, queue_claims.until FROM executions
    LEFT JOIN queue_claims ON queue_claims.execution_id = executions.id
    WHERE executions.id = ?
"""
_MESSAGES = "SELECT id, event FROM messages WHERE execution_id = ? ORDER BY seq"
_TAKE = """
    INSERT INTO queue_claims (execution_id, owner, lease, until) VALUES (?, ?, ?, ?)
    ON CONFLICT (execution_id) DO UPDATE SET
        owner = excluded.owner, lease = excluded.lease, until = excluded.until
"""
_PENDING = """
    SELECT COUNT(*) FROM messages JOIN executions ON executions.id = messages.execution_id
    WHERE executions.status = ?
"""


class SqliteQueue:
    """Inbound messages per execution, in the backend's database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def enqueue(self, messages: Sequence[InboundMessage]) -> None:
        """Add messages; a message whose id is already queued is ignored."""
        if messages:
            await self._db.write(lambda conn: enqueue(conn, messages))

    async def claim(self, owner: str, limit: int, lease: timedelta) -> list[InboundBatch]:
        """Claim all queued messages of up to ``limit`` executions nobody else holds.

        Executions come in the order their oldest queued message arrived; each
        batch holds its messages in arrival order. Messages of unknown or ended
        executions are discarded on the way.
        """
        if limit <= 0:
            return []
        seconds = lease.total_seconds()
        return await self._db.write(lambda conn: _claim(conn, owner, limit, seconds))

    async def release(self, batch: InboundBatch) -> None:
        """Give up a claim without consuming; ignored if the claim is no longer ours."""
        await self._db.write(
            lambda conn: conn.execute(
                "DELETE FROM queue_claims WHERE execution_id = ? AND lease = ?",
                (batch.execution_id, batch.lease),
            )
        )

    async def pending(self) -> int:
        """Return how many messages are queued for running executions, claimed or not."""

        def run(conn: sqlite3.Connection) -> int:
            return int(conn.execute(_PENDING, (_RUNNING,)).fetchone()[0])

        return await self._db.read(run)


def take(
    conn: sqlite3.Connection, execution_id: str, status: str | None, owner: str, until: float
) -> InboundBatch | None:
    """Claim one unclaimed execution's queued messages (``status`` is its status).

    Messages of an execution that is not running are dropped instead.
    """
    if status != _RUNNING:
        # Nobody will ever consume these: drop them rather than hand them out.
        conn.execute("DELETE FROM messages WHERE execution_id = ?", (execution_id,))
        conn.execute("DELETE FROM inbox WHERE execution_id = ?", (execution_id,))
        return None
    queued = conn.execute(_MESSAGES, (execution_id,)).fetchall()
    if not queued:
        # Every message was consumed; the next one starts a new place in line.
        conn.execute("DELETE FROM inbox WHERE execution_id = ?", (execution_id,))
        return None
    token = lease_token(owner, os.urandom(9).hex())
    conn.execute(_TAKE, (execution_id, owner, token, until))
    messages = tuple(
        InboundMessage(id=message_id, execution_id=execution_id, event=load_event(text))
        for message_id, text in queued
    )
    return InboundBatch(execution_id=execution_id, messages=messages, lease=token)


def take_one(
    conn: sqlite3.Connection, execution_id: str, owner: str, seconds: float
) -> InboundBatch | None:
    """Claim one execution's queued messages if nobody holds them; else None."""
    now = time.time()
    row = conn.execute(_ONE, (execution_id,)).fetchone()
    if row is None:
        return None
    status, claimed_until = row
    if claimed_until is not None and claimed_until > now:
        return None
    return take(conn, execution_id, status, owner, now + seconds)


def _claim(conn: sqlite3.Connection, owner: str, limit: int, seconds: float) -> list[InboundBatch]:
    now = time.time()
    until = now + seconds
    batches: list[InboundBatch] = []
    seen: set[str] = set()
    while len(batches) < limit:
        # Rows already handled in this call may come back (a claim with a lease of
        # zero is immediately claimable again), so ask for that many more.
        wanted = limit - len(batches) + len(seen)
        rows = conn.execute(_CANDIDATES, (now, wanted)).fetchall()
        fresh = [
            (execution_id, status) for execution_id, status in rows if execution_id not in seen
        ]
        if not fresh:
            break
        for execution_id, status in fresh:
            seen.add(execution_id)
            batch = take(conn, execution_id, status, owner, until)
            if batch is not None:
                batches.append(batch)
                if len(batches) >= limit:
                    break
        if len(rows) < wanted:
            break
    return batches
