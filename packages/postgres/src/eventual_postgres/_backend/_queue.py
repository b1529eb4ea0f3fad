"""``WorkflowQueue`` on PostgreSQL: inbound messages, claimed one execution at a time.

An execution's place in line is its ``inbox`` row. Claiming locks inbox rows with
``FOR UPDATE SKIP LOCKED``: two workers claiming at once each take different
executions without waiting on each other, and a claim (a ``queue_claims`` row
with a random token and an expiry on the server's clock) is only ever written
by the holder of its inbox row's lock. A worker that locked a row re-reads the
claim after taking the lock, because the rows it chose were read before another
worker's claim committed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta

from eventual import ExecutionStatus
from eventual.spi import InboundBatch, InboundMessage, load_event

from .._database import Connection, Database
from ._writes import NOW, enqueue

__all__ = ["PostgresQueue", "take_one"]

_RUNNING = ExecutionStatus.RUNNING.value

# Executions with queued messages and no live claim, in order of arrival, with
# their status (NULL for an unknown execution).
_CANDIDATES = f"""
    SELECT inbox.execution_id, executions.status
    FROM inbox
    LEFT JOIN executions ON executions.id = inbox.execution_id
    WHERE NOT EXISTS (
        SELECT 1 FROM queue_claims
        WHERE queue_claims.execution_id = inbox.execution_id AND queue_claims.until > {NOW}
    ) AND inbox.execution_id <> ALL(%s)
    ORDER BY inbox.first_seq
    LIMIT %s
    FOR UPDATE OF inbox SKIP LOCKED
"""
_HELD = f"SELECT execution_id FROM queue_claims WHERE execution_id = ANY(%s) AND until > {NOW}"
_MESSAGES = "SELECT execution_id, id, event FROM messages WHERE execution_id = ANY(%s) ORDER BY seq"
_TAKE = f"""
    INSERT INTO queue_claims (execution_id, owner, lease, until) VALUES (%s, %s, %s, {NOW} + %s)
    ON CONFLICT (execution_id) DO UPDATE SET
        owner = excluded.owner, lease = excluded.lease, until = excluded.until
"""
_DROP_MESSAGES = "DELETE FROM messages WHERE execution_id = ANY(%s)"
_DROP_INBOX = "DELETE FROM inbox WHERE execution_id = ANY(%s)"
_PENDING = """
    SELECT count(*) FROM messages JOIN executions ON executions.id = messages.execution_id
    WHERE executions.status = %s
"""


class PostgresQueue:
    """Inbound messages per execution, in the backend's schema."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def enqueue(self, messages: Sequence[InboundMessage]) -> None:
        """Add messages; a message whose id is already queued is ignored."""
        if messages:
            await self._db.atomic(lambda conn: enqueue(conn, messages))
            self._db.announce("orchestrator")

    async def claim(self, owner: str, limit: int, lease: timedelta) -> list[InboundBatch]:
        """Claim all queued messages of up to ``limit`` executions nobody else holds.

        Executions come in the order their oldest queued message arrived; each
        batch holds its messages in arrival order. Messages of unknown or ended
        executions are discarded on the way.
        """
        if limit <= 0:
            return []
        seconds = lease.total_seconds()

        async def run(conn: Connection) -> list[InboundBatch]:
            batches: list[InboundBatch] = []
            seen: list[str] = []
            # Candidates that turn out empty, ended or just claimed by another
            # worker take no batch, so look further until the limit is reached or
            # the line is exhausted.
            while len(batches) < limit:
                wanted = limit - len(batches)
                cursor = await conn.execute(_CANDIDATES, (seen, wanted))
                rows = [
                    (str(id_), None if status is None else str(status))
                    for id_, status in await cursor.fetchall()
                ]
                seen.extend(id_ for id_, _ in rows)
                batches.extend(await _take(conn, rows, owner, seconds))
                if len(rows) < wanted:
                    break
            return batches

        return await self._db.transaction(run, pipeline=True)

    async def release(self, batch: InboundBatch) -> None:
        """Give up a claim without consuming; ignored if the claim is no longer ours."""

        async def run(conn: Connection) -> None:
            await conn.execute(
                "DELETE FROM queue_claims WHERE execution_id = %s AND lease = %s",
                (batch.execution_id, batch.lease),
            )

        await self._db.atomic(run)
        # The messages are claimable again: wake the orchestrators.
        self._db.announce("orchestrator")

    async def pending(self) -> int:
        """Return how many messages are queued for running executions, claimed or not."""

        async def run(conn: Connection) -> int:
            cursor = await conn.execute(_PENDING, (_RUNNING,))
            row = await cursor.fetchone()
            return 0 if row is None else int(str(row[0]))

        return await self._db.run(run)


async def _take(
    conn: Connection, rows: list[tuple[str, str | None]], owner: str, seconds: float
) -> list[InboundBatch]:
    """Claim the locked executions ``rows`` (id, status) that nobody holds.

    Messages of an execution that is not running are dropped instead: nobody
    will ever consume them.
    """
    if not rows:
        return []
    cursor = await conn.execute(_HELD, ([id_ for id_, _ in rows],))
    held = {str(id_) for (id_,) in await cursor.fetchall()}
    ended = [id_ for id_, status in rows if status != _RUNNING and id_ not in held]
    running = [id_ for id_, status in rows if status == _RUNNING and id_ not in held]
    if ended:
        await conn.execute(_DROP_MESSAGES, (ended,))
        await conn.execute(_DROP_INBOX, (ended,))
    if not running:
        return []
    cursor = await conn.execute(_MESSAGES, (running,))
    queued: dict[str, list[InboundMessage]] = {id_: [] for id_ in running}
    for execution_id, message_id, text in await cursor.fetchall():
        queued[str(execution_id)].append(
            InboundMessage(
                id=str(message_id), execution_id=str(execution_id), event=load_event(str(text))
            )
        )
    # Every message was consumed: the next one starts a new place in line.
    empty = [id_ for id_, messages in queued.items() if not messages]
    if empty:
        await conn.execute(_DROP_INBOX, (empty,))
    batches = [
        InboundBatch(
            execution_id=id_,
            messages=tuple(messages),
            lease=f"{owner}:{os.urandom(9).hex()}",
        )
        for id_, messages in queued.items()
        if messages
    ]
    if batches:
        async with conn.cursor() as claims:
            await claims.executemany(
                _TAKE, [(b.execution_id, owner, b.lease, seconds) for b in batches]
            )
    return batches


async def take_one(
    conn: Connection, execution_id: str, owner: str, seconds: float
) -> InboundBatch | None:
    """Claim one execution's queued messages if nobody holds them; else None.

    Waits for the execution's inbox row rather than skipping it: the caller has
    just queued a message there and wants to run it now if it is free.
    """
    cursor = await conn.execute(
        """SELECT inbox.execution_id, executions.status FROM inbox
        LEFT JOIN executions ON executions.id = inbox.execution_id
        WHERE inbox.execution_id = %s FOR UPDATE OF inbox""",
        (execution_id,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    status = None if row[1] is None else str(row[1])
    batches = await _take(conn, [(execution_id, status)], owner, seconds)
    return batches[0] if batches else None
