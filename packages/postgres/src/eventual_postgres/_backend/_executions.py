"""``ExecutionStore`` on PostgreSQL: records, histories and the atomic step commit."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

import psycopg

from eventual.history import ExecutionRecord, HistoryEvent, WorkflowStarted
from eventual.spi import (
    Conflict,
    ExecutionFilter,
    ExecutionPage,
    StepCommit,
    TimerRequest,
    dump_event,
    dump_published,
    dump_record,
    load_event,
    load_record,
)

from .._database import Connection, Database, pipelined
from ._schema import CHECK_FAILED
from ._wakes import Holders, Holding, send_holders
from ._writes import add_tasks, create_execution, enqueue, report_clash, schedule, send_create

__all__ = ["PostgresExecutions", "announced", "apply_step", "write_step"]

# The history-length check and the record update are one statement, and the
# server raises (``require``) when it matched nothing, which rolls back every
# statement sent with it. Under READ COMMITTED a second writer with the same
# expected length waits for the first to commit, then re-reads the row, finds
# the length moved and matches nothing: that step is a Conflict. The step's
# committer becomes the execution's holder, whom claims prefer (see ``_queue``).
_ADVANCE = """
    WITH advanced AS (
        UPDATE executions SET length = %s, status = %s, record = %s, holder = %s
        WHERE id = %s AND length = %s RETURNING 1
    )
    SELECT require(count(*) = 1, 'history changed') FROM advanced
"""
# Matching the token (not its expiry) is what the in-memory backend does: a
# lapsed lease nobody else took is still ours, and the length check already
# rules out a competing step.
_RELEASE = """
    WITH released AS (
        DELETE FROM queue_claims WHERE execution_id = %s AND lease = %s RETURNING 1
    )
    SELECT require(count(*) = 1, 'lease lost') FROM released
"""
_INSERT_HISTORY = "INSERT INTO history (execution_id, position, event) VALUES (%s, %s, %s)"
_CONSUME = "DELETE FROM messages WHERE execution_id = %s AND id = ANY(%s)"
_PUBLISH = "INSERT INTO outbox (execution_id, event) VALUES (%s, %s)"


class PostgresExecutions:
    """Execution records and their histories, in the backend's schema."""

    def __init__(self, database: Database, holding: Holding) -> None:
        self._db = database
        self._holding = holding

    async def create(
        self, record: ExecutionRecord, started: WorkflowStarted, timers: Sequence[TimerRequest]
    ) -> ExecutionRecord:
        """Create an execution and queue its ``WorkflowStarted``, unless it exists.

        One pipeline, one round trip: the server refuses the rest when the id
        is taken (``require``), and only then is the stored record read.

        Returns:
            ``record`` when it was created (its ``timers`` are then scheduled), else
            the record already stored under that id.
        """

        async def run(conn: Connection) -> None:
            await send_create(conn, record, started)
            await schedule(conn, timers)

        try:
            await self._db.atomic(run)
        except psycopg.Error as error:
            if error.sqlstate != CHECK_FAILED:
                raise
            existing = await self.get(record.id)
            assert existing is not None  # the conflicting row exists: rows are never deleted
            return existing
        self._db.announce("orchestrator", *(("timers",) if timers else ()))
        return record

    async def get(self, execution_id: str) -> ExecutionRecord | None:
        """Return the execution's record, or None."""

        async def run(conn: Connection) -> ExecutionRecord | None:
            cursor = await conn.execute(
                "SELECT record FROM executions WHERE id = %s", (execution_id,)
            )
            row = await cursor.fetchone()
            return None if row is None else load_record(str(row[0]))

        return await self._db.run(run)

    async def list(self, query: ExecutionFilter) -> ExecutionPage:
        """Return executions matching ``query``, newest first.

        An ``after`` cursor naming no execution is ignored (the first page is
        returned), as in the in-memory backend.
        """
        limit = max(query.limit, 0)

        async def run(conn: Connection) -> ExecutionPage:
            conditions: builtins.list[str] = []
            params: builtins.list[str | int] = []
            if query.after is not None:
                # A cursor naming no execution means no bound.
                conditions.append("seq < coalesce((SELECT seq FROM executions WHERE id = %s), %s)")
                params += [query.after, 2**63 - 1]
            if query.workflow is not None:
                conditions.append("workflow = %s")
                params.append(query.workflow)
            if query.status is not None:
                conditions.append("status = %s")
                params.append(query.status.value)
            where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
            # One row more than asked tells whether a next page exists.
            params.append(limit + 1)
            cursor = await conn.execute(
                f"SELECT record FROM executions {where} ORDER BY seq DESC LIMIT %s",
                params,
            )
            rows = await cursor.fetchall()
            page = tuple(load_record(str(text)) for (text,) in rows[:limit])
            more = len(rows) > limit
            return ExecutionPage(executions=page, next=page[-1].id if more and page else None)

        return await self._db.run(run)

    async def history(self, execution_id: str, after: int = 0) -> builtins.list[HistoryEvent]:
        """Return the history from position ``after`` on, oldest first (empty if none)."""

        async def run(conn: Connection) -> builtins.list[HistoryEvent]:
            cursor = await conn.execute(
                "SELECT event FROM history WHERE execution_id = %s AND position >= %s "
                "ORDER BY position",
                (execution_id, after),
            )
            return [load_event(str(text)) for (text,) in await cursor.fetchall()]

        return await self._db.run(run)

    async def commit(self, step: StepCommit) -> None:
        """Apply one step atomically, in one transaction.

        A step that starts no child is one pipeline, one round trip: its
        statements form one implicit transaction, checked by the server. A step
        that starts children needs the answer of each child's insert, so it
        runs in an explicit transaction.

        Raises:
            Conflict: The history is no longer ``expected_length`` long, or the
                lease of the consumed batch is not held; nothing was written.
        """
        if step.owner is not None:
            self._holding.owners.add(step.owner)  # notifications naming it are this process's

        async def run(conn: Connection) -> Holders | None:
            await write_step(conn, step)
            # Messages for other executions wake their holders (read after the commit).
            return await send_holders(conn, (m.execution_id for m in step.messages))

        try:
            holders = None
            if step.starts:
                await self._db.transaction(lambda conn: apply_step(conn, step))
            elif step.messages:
                holders = await self._db.atomic(run)
            else:
                await self._db.atomic(lambda conn: write_step(conn, step))
            wakes = [] if holders is None else await holders.loops()
            if step.execution_id in self._holding.taken_over:
                # Messages queued while it ran named the holder it was taken from.
                self._holding.taken_over.discard(step.execution_id)
                wakes = ["orchestrator"]
            self._db.announce(*announced(step, wakes))
        except psycopg.errors.UniqueViolation:
            # History rows past the recorded length exist: another step got there first.
            raise Conflict(f"{step.execution_id}: history changed") from None
        except psycopg.Error as error:
            if error.sqlstate != CHECK_FAILED:
                raise
            raise Conflict(f"{step.execution_id}: {error.diag.message_primary}") from None


def announced(step: StepCommit, wakes: Sequence[str] = ()) -> list[str]:
    """Return the loops of other processes that a committed step gave work.

    ``wakes`` are the orchestrator wake-ups the commit owes: those naming the
    holders of the executions its messages are for (``_wakes``), or every
    orchestrator's; without them, a step with messages wakes every
    orchestrator, and a step starting children always does.
    """
    loops: list[str] = []
    if step.starts or (step.messages and not wakes):
        loops.append("orchestrator")
    else:
        loops.extend(wakes)
    if step.tasks and step.task_claim is None:
        loops.append("tasks")
    if step.timers:
        loops.append("timers")
    return loops


async def write_step(conn: Connection, step: StepCommit) -> None:
    """Send a step's writes and checks in the caller's pipeline, without reading an answer.

    The server checks the expected length and the lease (``require``); a failed
    check raises ``CHECK_FAILED`` when the pipeline is synced and rolls back
    the transaction, as a history row that exists already does.
    """
    execution_id = step.execution_id
    length = step.expected_length
    await conn.execute(
        _ADVANCE,
        (
            length + len(step.events),
            step.record.status.value,
            dump_record(step.record),
            step.owner,
            execution_id,
            length,
        ),
    )
    if step.lease is not None:
        await conn.execute(_RELEASE, (execution_id, step.lease))
    async with conn.cursor() as cursor:
        if step.events:
            await cursor.executemany(
                _INSERT_HISTORY,
                [
                    (execution_id, length + offset, dump_event(event))
                    for offset, event in enumerate(step.events)
                ],
            )
        if step.consumed:
            await cursor.execute(_CONSUME, (execution_id, list(step.consumed)))
        if step.finished:
            await cursor.execute("DELETE FROM tasks WHERE token = ANY(%s)", (list(step.finished),))
        if step.cancel_timers:
            await cursor.execute(
                "DELETE FROM timers WHERE id = ANY(%s)", (list(step.cancel_timers),)
            )
    await add_tasks(conn, step.tasks, step.task_claim)
    await schedule(conn, step.timers)
    if not step.starts:
        await _send(conn, step)


async def apply_step(conn: Connection, step: StepCommit) -> None:
    """Write a step, children included, in the caller's open transaction.

    The step's own writes go as one pipeline; a failed check raises when it
    is synced, which rolls the caller's transaction back.
    """
    await pipelined(conn, lambda conn: write_step(conn, step))
    if step.starts:
        # Children are created after the checks, since each needs the answer of its
        # insert, and before the step's messages, which may be for them: a child's
        # start must be queued ahead of a signal its parent sends it.
        for record, started in step.starts:
            existing = await create_execution(conn, record, started)
            if existing is not None and existing.input_digest != record.input_digest:
                await report_clash(conn, existing, started)
        await _send(conn, step)


async def _send(conn: Connection, step: StepCommit) -> None:
    """Queue the step's messages for other executions and its published events."""
    await enqueue(conn, step.messages)
    if step.published:
        async with conn.cursor() as cursor:
            await cursor.executemany(
                _PUBLISH, [(step.execution_id, dump_published(e)) for e in step.published]
            )
