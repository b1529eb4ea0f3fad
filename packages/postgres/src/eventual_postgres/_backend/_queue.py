"""``WorkflowQueue`` on PostgreSQL: inbound messages, claimed one execution at a time.

An execution's place in line is its ``inbox`` row. Claiming locks inbox rows with
``FOR UPDATE SKIP LOCKED``: two workers claiming at once each take different
executions without waiting on each other, and a claim (a ``queue_claims`` row
with a random token and an expiry on the server's clock) is only ever written
by the holder of its inbox row's lock. A worker that locked a row re-reads the
claim after taking the lock, because the rows it chose were read before another
worker's claim committed.

Executions stay with the process holding their live instance: a step records
its committer as the execution's ``holder`` (``StepCommit.owner``), and a
claim passes over executions another process holds until their oldest queued
message has waited ``affinity`` (by the server's clock). The holder then
applies a signal without reading and replaying the history, and an execution
whose holder died, stopped or fell behind is taken by any process after that
wait. It is only a preference: nothing else depends on it, so a stale holder
(an evicted instance, a restarted process) costs at most that wait. Queuing
messages for held executions wakes their holder only, and the others once
the wait is over (``_wakes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from eventual import ExecutionStatus
from eventual.spi import InboundBatch, InboundMessage, load_event

from .._database import Connection, Database
from ._wakes import Holders, Holding, send_holders
from ._writes import NOW, enqueue

__all__ = ["PostgresQueue", "take_one"]

_RUNNING = ExecutionStatus.RUNNING.value

# Executions with queued messages and no live claim, in order of arrival, with
# their status (NULL for an unknown execution). Those another process holds
# are left to it until their oldest message has waited ``affinity`` seconds
# (an empty line's row is anyone's to remove); ended and unknown executions
# are anyone's, to drop their messages.
_CANDIDATES = f"""
    SELECT inbox.execution_id, executions.status, executions.holder
    FROM inbox
    LEFT JOIN executions ON executions.id = inbox.execution_id
    WHERE NOT EXISTS (
        SELECT 1 FROM queue_claims
        WHERE queue_claims.execution_id = inbox.execution_id AND queue_claims.until > {NOW}
    ) AND inbox.execution_id <> ALL(%(seen)s)
    AND (
        executions.holder IS NULL
        OR executions.holder = %(owner)s
        OR executions.status IS DISTINCT FROM %(running)s
        OR coalesce(
            (SELECT min(m.queued_at) FROM messages m WHERE m.execution_id = inbox.execution_id),
            0
        ) <= {NOW} - %(affinity)s
    )
    ORDER BY inbox.first_seq
    LIMIT %(limit)s
    FOR UPDATE OF inbox SKIP LOCKED
"""
# An ended (or unknown) execution's messages are dropped, unless a claim on it
# committed since the candidates were read.
_DROP_MESSAGES = f"""
    DELETE FROM messages WHERE execution_id = ANY(%s) AND NOT EXISTS (
        SELECT 1 FROM queue_claims q
        WHERE q.execution_id = messages.execution_id AND q.until > {NOW}
    )
"""
_DROP_INBOX = f"""
    DELETE FROM inbox WHERE execution_id = ANY(%s) AND NOT EXISTS (
        SELECT 1 FROM queue_claims q WHERE q.execution_id = inbox.execution_id AND q.until > {NOW}
    )
"""
# Running executions nobody claimed since the candidates were read (``free``):
# those with queued messages are claimed (a random lease token each) and their
# messages returned in arrival order, batches in line order; the others leave
# the line, since the next message starts a new place in it.
_TAKE_ALL = f"""
    WITH free AS (
        SELECT c.id, c.n FROM unnest(%(running)s::text[]) WITH ORDINALITY AS c(id, n)
        WHERE NOT EXISTS (
            SELECT 1 FROM queue_claims q WHERE q.execution_id = c.id AND q.until > {NOW}
        )
    ), queued AS (
        SELECT m.execution_id, m.id, m.event, m.seq, free.n
        FROM messages m JOIN free ON free.id = m.execution_id
    ), claimed AS (
        INSERT INTO queue_claims (execution_id, owner, lease, until)
        SELECT free.id, %(owner)s, %(owner)s || ':' || md5(random()::text || free.id),
            {NOW} + %(seconds)s
        FROM free WHERE EXISTS (SELECT 1 FROM queued WHERE queued.execution_id = free.id)
        ON CONFLICT (execution_id) DO UPDATE SET
            owner = excluded.owner, lease = excluded.lease, until = excluded.until
        RETURNING execution_id, lease
    ), emptied AS (
        DELETE FROM inbox WHERE inbox.execution_id IN (
            SELECT free.id FROM free
            WHERE NOT EXISTS (SELECT 1 FROM queued WHERE queued.execution_id = free.id)
        )
    )
    SELECT queued.execution_id, claimed.lease, queued.id, queued.event
    FROM queued JOIN claimed ON claimed.execution_id = queued.execution_id
    ORDER BY queued.n, queued.seq
"""
_PENDING = """
    SELECT count(*) FROM messages JOIN executions ON executions.id = messages.execution_id
    WHERE executions.status = %s
"""


class PostgresQueue:
    """Inbound messages per execution, in the backend's schema."""

    def __init__(self, database: Database, affinity: timedelta, holding: Holding) -> None:
        self._db = database
        self._affinity = affinity.total_seconds()
        self._holding = holding

    async def enqueue(self, messages: Sequence[InboundMessage]) -> None:
        """Add messages; a message whose id is already queued is ignored.

        Wakes the processes holding their executions, or every process when
        any of them is anyone's.
        """
        if not messages:
            return

        async def run(conn: Connection) -> Holders:
            await enqueue(conn, messages)
            return await send_holders(conn, (m.execution_id for m in messages))

        holders = await self._db.atomic(run)
        self._db.announce(*await holders.loops())

    async def claim(self, owner: str, limit: int, lease: timedelta) -> list[InboundBatch]:
        """Claim all queued messages of up to ``limit`` executions nobody else holds.

        Executions come in the order their oldest queued message arrived; each
        batch holds its messages in arrival order. Messages of unknown or ended
        executions are discarded on the way. An execution whose last step
        another owner committed is left to that owner until its oldest message
        has waited the backend's ``affinity``.
        """
        if limit <= 0:
            return []
        self._holding.owners.add(owner)  # notifications naming it are this process's
        seconds = lease.total_seconds()

        async def run(conn: Connection) -> list[InboundBatch]:
            batches: list[InboundBatch] = []
            seen: list[str] = []
            # Candidates that turn out empty, ended or just claimed by another
            # worker take no batch, so look further until the limit is reached or
            # the line is exhausted.
            while len(batches) < limit:
                wanted = limit - len(batches)
                cursor = await conn.execute(
                    _CANDIDATES,
                    {
                        "seen": seen,
                        "owner": owner,
                        "running": _RUNNING,
                        "affinity": self._affinity,
                        "limit": wanted,
                    },
                )
                fetched = await cursor.fetchall()
                rows = [
                    (str(id_), None if status is None else str(status))
                    for id_, status, _ in fetched
                ]
                seen.extend(id_ for id_, _ in rows)
                taken = await _take(conn, rows, owner, seconds)
                held = {str(id_) for id_, _, holder in fetched if holder not in (None, owner)}
                self._holding.taken_over.update(
                    b.execution_id for b in taken if b.execution_id in held
                )
                batches.extend(taken)
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
        self._holding.taken_over.discard(batch.execution_id)
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
    will ever consume them. Two statements, read in one round trip: whether
    another worker's claim committed since the candidates were read is
    checked by the server, in each statement's fresh snapshot.
    """
    if not rows:
        return []
    ended = [id_ for id_, status in rows if status != _RUNNING]
    running = [id_ for id_, status in rows if status == _RUNNING]
    if ended:
        await conn.execute(_DROP_MESSAGES, (ended,))
        await conn.execute(_DROP_INBOX, (ended,))
    if not running:
        return []
    cursor = await conn.execute(_TAKE_ALL, {"running": running, "owner": owner, "seconds": seconds})
    queued: dict[str, tuple[str, list[InboundMessage]]] = {}
    for execution_id, lease, message_id, text in await cursor.fetchall():
        _, messages = queued.setdefault(str(execution_id), (str(lease), []))
        messages.append(
            InboundMessage(
                id=str(message_id), execution_id=str(execution_id), event=load_event(str(text))
            )
        )
    return [
        InboundBatch(execution_id=id_, messages=tuple(messages), lease=lease)
        for id_, (lease, messages) in queued.items()
    ]


async def take_one(
    conn: Connection, execution_id: str, owner: str, seconds: float, holding: Holding
) -> InboundBatch | None:
    """Claim one execution's queued messages if nobody holds them; else None.

    Waits for the execution's inbox row rather than skipping it: the caller has
    just queued a message there and wants to run it now if it is free. An
    execution taken from another holder is noted in ``holding.taken_over``.
    """
    cursor = await conn.execute(
        """SELECT inbox.execution_id, executions.status, executions.holder FROM inbox
        LEFT JOIN executions ON executions.id = inbox.execution_id
        WHERE inbox.execution_id = %s FOR UPDATE OF inbox""",
        (execution_id,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    status = None if row[1] is None else str(row[1])
    batches = await _take(conn, [(execution_id, status)], owner, seconds)
    if not batches:
        return None
    if row[2] not in (None, owner):
        holding.taken_over.add(execution_id)
    return batches[0]
