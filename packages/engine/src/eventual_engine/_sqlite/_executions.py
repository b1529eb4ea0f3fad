"""``ExecutionStore`` on SQLite: records, histories and the atomic step commit."""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Sequence

from eventual.history import ExecutionRecord, HistoryEvent, WorkflowStarted
from eventual.spi import Conflict, ExecutionFilter, ExecutionPage, StepCommit, TimerRequest
from eventual.sqlite import Database

from ._convert import dump_event, dump_published, dump_record, load_event, load_record
from ._writes import add_tasks, create_execution, enqueue, report_clash, schedule

__all__ = ["SqliteExecutions"]

# The history-length check and the record update are one statement: if another
# writer appended first, no row matches and the step is a Conflict.
_ADVANCE = """
    UPDATE executions SET length = ?, status = ?, record = ? WHERE id = ? AND length = ?
"""
_INSERT_HISTORY = "INSERT INTO history (execution_id, position, event) VALUES (?, ?, ?)"
_CONSUME = "DELETE FROM messages WHERE execution_id = ? AND id = ?"
_CANCEL_TIMER = "DELETE FROM timers WHERE id = ?"
_PUBLISH = "INSERT INTO outbox (execution_id, event) VALUES (?, ?)"


class SqliteExecutions:
    """Execution records and their histories, in the backend's database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self, record: ExecutionRecord, started: WorkflowStarted, timers: Sequence[TimerRequest]
    ) -> ExecutionRecord:
        """Create an execution and queue its ``WorkflowStarted``, unless it exists.

        Returns:
            ``record`` when it was created (its ``timers`` are then scheduled), else
            the record already stored under that id.
        """

        def run(conn: sqlite3.Connection) -> ExecutionRecord:
            existing = create_execution(conn, record, started)
            if existing is not None:
                return existing
            schedule(conn, timers)
            return record

        return await self._db.write(run)

    async def get(self, execution_id: str) -> ExecutionRecord | None:
        """Return the execution's record, or None."""

        def run(conn: sqlite3.Connection) -> ExecutionRecord | None:
            row = conn.execute(
                "SELECT record FROM executions WHERE id = ?", (execution_id,)
            ).fetchone()
            return None if row is None else load_record(row[0])

        return await self._db.read(run)

    async def list(self, query: ExecutionFilter) -> ExecutionPage:
        """Return executions matching ``query``, newest first.

        An ``after`` cursor naming no execution is ignored (the first page is
        returned), as in the in-memory backend.
        """

        def run(conn: sqlite3.Connection) -> ExecutionPage:
            conditions: list[str] = []
            params: list[str | int] = []
            if query.after is not None:
                row = conn.execute(
                    "SELECT seq FROM executions WHERE id = ?", (query.after,)
                ).fetchone()
                if row is not None:
                    conditions.append("seq < ?")
                    params.append(row[0])
            if query.workflow is not None:
                conditions.append("workflow = ?")
                params.append(query.workflow)
            if query.status is not None:
                conditions.append("status = ?")
                params.append(query.status.value)
            where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
            # One row more than asked tells whether a next page exists.
            params.append(max(query.limit, 0) + 1)
            rows = conn.execute(
                f"SELECT record FROM executions {where} ORDER BY seq DESC LIMIT ?", params
            ).fetchall()
            page = tuple(load_record(text) for (text,) in rows[: max(query.limit, 0)])
            more = len(rows) > query.limit
            return ExecutionPage(executions=page, next=page[-1].id if more and page else None)

        return await self._db.read(run)

    async def history(self, execution_id: str, after: int = 0) -> builtins.list[HistoryEvent]:
        """Return the history from position ``after`` on, oldest first (empty if none)."""

        def run(conn: sqlite3.Connection) -> builtins.list[HistoryEvent]:
            rows = conn.execute(
                "SELECT event FROM history WHERE execution_id = ? AND position >= ? "
                "ORDER BY position",
                (execution_id, after),
            ).fetchall()
            return [load_event(text) for (text,) in rows]

        return await self._db.read(run)

    async def commit(self, step: StepCommit) -> None:
        """Apply one step atomically, in one transaction.

        Raises:
            Conflict: The history is no longer ``expected_length`` long, or the
                lease of the consumed batch is not held; nothing was written.
        """
        await self._db.write(lambda conn: apply_step(conn, step))


def apply_step(conn: sqlite3.Connection, step: StepCommit) -> None:
    """Write a step in the open transaction, or raise ``Conflict`` before writing.

    The caller's transaction (a savepoint under group commit) is rolled back when
    this raises, so a Conflict found after the first write still leaves nothing.
    """
    execution_id = step.execution_id
    length = step.expected_length
    advanced = conn.execute(
        _ADVANCE,
        (
            length + len(step.events),
            step.record.status.value,
            dump_record(step.record),
            execution_id,
            length,
        ),
    )
    if advanced.rowcount != 1:
        raise Conflict(f"{execution_id}: history changed")
    if step.lease is not None:
        # Matching the token (not its expiry) is what the in-memory backend does: a
        # lapsed lease nobody else took is still ours, and the length check above
        # already rules out a competing step.
        released = conn.execute(
            "DELETE FROM queue_claims WHERE execution_id = ? AND lease = ?",
            (execution_id, step.lease),
        )
        if released.rowcount != 1:
            raise Conflict(f"{execution_id}: lease lost")
    if step.events:
        try:
            conn.executemany(
                _INSERT_HISTORY,
                [
                    (execution_id, length + offset, dump_event(event))
                    for offset, event in enumerate(step.events)
                ],
            )
        except sqlite3.IntegrityError:
            # Rows past the recorded length exist: the store is inconsistent with
            # what this step read, which is a conflict, not a crash.
            raise Conflict(f"{execution_id}: history changed") from None
    if step.consumed:
        conn.executemany(_CONSUME, [(execution_id, message_id) for message_id in step.consumed])
    if step.finished:
        conn.executemany("DELETE FROM tasks WHERE token = ?", [(t,) for t in step.finished])
    add_tasks(conn, step.tasks, step.task_claim)
    if step.cancel_timers:
        conn.executemany(_CANCEL_TIMER, [(timer_id,) for timer_id in step.cancel_timers])
    schedule(conn, step.timers)
    for record, started in step.starts:
        existing = create_execution(conn, record, started)
        if existing is not None and existing.input_digest != record.input_digest:
            report_clash(conn, existing, started)
    enqueue(conn, step.messages)
    if step.published:
        conn.executemany(
            _PUBLISH, [(execution_id, dump_published(event)) for event in step.published]
        )
