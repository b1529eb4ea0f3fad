"""Writes shared by several parts of the backend, run inside an open transaction.

A commit does, in one transaction, what ``create``, ``enqueue`` and ``schedule``
do on their own; these functions are that shared core. Each takes the
connection of the database thread and batches rows with ``executemany`` so a
step with many messages or timers costs one statement per table, not per row.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from eventual.history import ExecutionRecord, WorkflowStarted
from eventual.spi import InboundMessage, Lease, TaskRequest, TimerRequest

from .._ids import start_message_id
from .._start import clash_message
from ._convert import (
    EARLIEST_US,
    dump_event,
    dump_record,
    dump_task,
    dump_timer,
    load_record,
    micros,
)

__all__ = ["add_tasks", "create_execution", "enqueue", "report_clash", "schedule"]

_INSERT_EXECUTION = """
    INSERT INTO executions (id, workflow, status, length, record) VALUES (?, ?, ?, 1, ?)
    ON CONFLICT (id) DO NOTHING
"""
_INSERT_MESSAGE = """
    INSERT INTO messages (execution_id, id, event) VALUES (?, ?, ?)
    ON CONFLICT (execution_id, id) DO NOTHING
"""
# An execution keeps its place in line from its first queued message; later
# messages for it leave the row alone.
_INSERT_INBOX = """
    INSERT INTO inbox (execution_id, first_seq)
    SELECT execution_id, seq FROM messages WHERE execution_id = ? AND id = ?
    ON CONFLICT (execution_id) DO NOTHING
"""
# Rescheduling a timer also drops any claim on it, as in memory.
_UPSERT_TIMER = """
    INSERT INTO timers (id, execution_id, due_us, owner, until, timer) VALUES (?, ?, ?, NULL, 0, ?)
    ON CONFLICT (id) DO UPDATE SET
        execution_id = excluded.execution_id, due_us = excluded.due_us,
        owner = NULL, until = 0, timer = excluded.timer
"""
_INSERT_TASK = """
    INSERT INTO tasks (token, not_before_us, task, owner, until) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (token) DO NOTHING
"""


def enqueue(conn: sqlite3.Connection, messages: Sequence[InboundMessage]) -> None:
    """Queue messages; a message whose id is already queued for its execution is ignored."""
    if not messages:
        return
    conn.executemany(
        _INSERT_MESSAGE, [(m.execution_id, m.id, dump_event(m.event)) for m in messages]
    )
    conn.executemany(_INSERT_INBOX, [(m.execution_id, m.id) for m in messages])


def schedule(conn: sqlite3.Connection, timers: Sequence[TimerRequest]) -> None:
    """Schedule timers, replacing (and unclaiming) any timer with the same id."""
    if not timers:
        return
    conn.executemany(
        _UPSERT_TIMER, [(t.id, t.execution_id, micros(t.due), dump_timer(t)) for t in timers]
    )


def add_tasks(
    conn: sqlite3.Connection, tasks: Sequence[TaskRequest], claim: Lease | None = None
) -> None:
    """Dispatch task attempts in order; an attempt whose token is known is ignored.

    With ``claim``, the attempts are inserted already claimed by its owner.
    """
    if not tasks:
        return
    owner = None if claim is None else claim.owner
    until = 0.0 if claim is None else time.time() + claim.duration.total_seconds()
    conn.executemany(
        _INSERT_TASK,
        [
            (
                t.token,
                EARLIEST_US if t.not_before is None else micros(t.not_before),
                dump_task(t),
                owner,
                until,
            )
            for t in tasks
        ],
    )


def create_execution(
    conn: sqlite3.Connection, record: ExecutionRecord, started: WorkflowStarted
) -> ExecutionRecord | None:
    """Create an execution with ``[started]`` as history and queue its start message.

    Returns:
        None when it was created, else the record already stored under that id
        (which is left untouched).
    """
    cursor = conn.execute(
        _INSERT_EXECUTION, (record.id, record.workflow, record.status.value, dump_record(record))
    )
    if cursor.rowcount == 0:
        row = conn.execute("SELECT record FROM executions WHERE id = ?", (record.id,)).fetchone()
        return load_record(row[0])
    conn.execute(
        "INSERT INTO history (execution_id, position, event) VALUES (?, 0, ?)",
        (record.id, dump_event(started)),
    )
    enqueue(
        conn,
        [InboundMessage(id=start_message_id(record.id), execution_id=record.id, event=started)],
    )
    return None


def report_clash(
    conn: sqlite3.Connection, existing: ExecutionRecord, started: WorkflowStarted
) -> None:
    """Tell a parent that its child's id is taken by an execution with another input."""
    message = clash_message(existing, started)
    if message is not None:
        enqueue(conn, [message])
