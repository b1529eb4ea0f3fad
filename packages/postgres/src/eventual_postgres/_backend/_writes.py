"""Writes shared by several parts of the backend, run inside an open transaction.

A commit does, in one transaction, what ``create``, ``enqueue`` and ``schedule``
do on their own; these functions are that shared core. Rows are written with
``executemany``, which psycopg sends as one pipeline, so a step with many
messages or timers costs one round trip per table, not per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from eventual.history import ExecutionRecord, WorkflowStarted
from eventual.spi import (
    InboundMessage,
    Lease,
    TaskRequest,
    TimerRequest,
    dump_event,
    dump_record,
    dump_task,
    dump_timer,
    load_record,
    micros,
    start_message_id,
)
from eventual_engine import clash_message

from .._database import Connection

__all__ = [
    "EARLIEST",
    "EARLIEST_US",
    "NOW",
    "add_tasks",
    "create_execution",
    "enqueue",
    "report_clash",
    "schedule",
    "send_create",
]

NOW: Final = "extract(epoch FROM clock_timestamp())::float8"
"""The server's clock in epoch seconds: what every lease expiry is compared with."""

EARLIEST: Final = datetime.min.replace(tzinfo=UTC)
"""What ``next_ready`` returns for an attempt that may start at once (as in memory)."""

EARLIEST_US: Final = micros(EARLIEST)
"""The ``not_before_us`` of an attempt without ``not_before``."""

_INSERT_EXECUTION = """
    INSERT INTO executions (id, workflow, status, length, record) VALUES (%s, %s, %s, 1, %s)
    ON CONFLICT (id) DO NOTHING
"""
_INSERT_MESSAGE = """
    INSERT INTO messages (execution_id, id, event) VALUES (%s, %s, %s)
    ON CONFLICT (execution_id, id) DO NOTHING
"""
# An execution keeps its place in line from its first queued message; later
# messages for it keep the row's place. The no-op update is not idle: it locks
# the row, so a claim that found no messages and is deleting the row waits for
# this transaction (and then sees the message), or this insert waits for the
# delete and puts a new row in. With DO NOTHING, a message queued while a claim
# emptied the line would be left with no place in it, never to be claimed.
_INSERT_INBOX = """
    INSERT INTO inbox (execution_id, first_seq)
    SELECT execution_id, seq FROM messages WHERE execution_id = %s AND id = %s
    ON CONFLICT (execution_id) DO UPDATE SET first_seq = inbox.first_seq
"""
# Rescheduling a timer also drops any claim on it, as in memory.
_UPSERT_TIMER = """
    INSERT INTO timers (id, execution_id, due_us, owner, until, timer)
    VALUES (%s, %s, %s, NULL, 0, %s)
    ON CONFLICT (id) DO UPDATE SET
        execution_id = excluded.execution_id, due_us = excluded.due_us,
        owner = NULL, until = 0, timer = excluded.timer
"""
_INSERT_TASK = f"""
    INSERT INTO tasks (token, not_before_us, task, owner, until)
    VALUES (%s, %s, %s, %s, CASE WHEN %s::float8 > 0 THEN {NOW} + %s::float8 ELSE 0 END)
    ON CONFLICT (token) DO NOTHING
"""


async def enqueue(conn: Connection, messages: Sequence[InboundMessage]) -> None:
    """Queue messages; a message whose id is already queued for its execution is ignored."""
    if not messages:
        return
    async with conn.cursor() as cursor:
        await cursor.executemany(
            _INSERT_MESSAGE, [(m.execution_id, m.id, dump_event(m.event)) for m in messages]
        )
        await cursor.executemany(_INSERT_INBOX, [(m.execution_id, m.id) for m in messages])


async def schedule(conn: Connection, timers: Sequence[TimerRequest]) -> None:
    """Schedule timers, replacing (and unclaiming) any timer with the same id."""
    if not timers:
        return
    async with conn.cursor() as cursor:
        await cursor.executemany(
            _UPSERT_TIMER, [(t.id, t.execution_id, micros(t.due), dump_timer(t)) for t in timers]
        )


async def add_tasks(
    conn: Connection, tasks: Sequence[TaskRequest], claim: Lease | None = None
) -> None:
    """Dispatch task attempts in order; an attempt whose token is known is ignored.

    With ``claim``, the attempts are inserted already claimed by its owner.
    """
    if not tasks:
        return
    owner = None if claim is None else claim.owner
    seconds = 0.0 if claim is None else max(claim.duration.total_seconds(), 1e-6)
    async with conn.cursor() as cursor:
        await cursor.executemany(
            _INSERT_TASK,
            [
                (
                    t.token,
                    EARLIEST_US if t.not_before is None else micros(t.not_before),
                    dump_task(t),
                    owner,
                    seconds,
                    seconds,
                )
                for t in tasks
            ],
        )


async def create_execution(
    conn: Connection, record: ExecutionRecord, started: WorkflowStarted
) -> ExecutionRecord | None:
    """Create an execution with ``[started]`` as history and queue its start message.

    Returns:
        None when it was created, else the record already stored under that id
        (which is left untouched).
    """
    cursor = await conn.execute(
        _INSERT_EXECUTION, (record.id, record.workflow, record.status.value, dump_record(record))
    )
    if cursor.rowcount == 0:
        cursor = await conn.execute("SELECT record FROM executions WHERE id = %s", (record.id,))
        row = await cursor.fetchone()
        assert row is not None  # the conflicting row exists: rows are never deleted
        return load_record(str(row[0]))
    await conn.execute(
        "INSERT INTO history (execution_id, position, event) VALUES (%s, 0, %s)",
        (record.id, dump_event(started)),
    )
    await enqueue(
        conn,
        [InboundMessage(id=start_message_id(record.id), execution_id=record.id, event=started)],
    )
    return None


_CREATE_CHECKED = """
    WITH created AS (
        INSERT INTO executions (id, workflow, status, length, record) VALUES (%s, %s, %s, 1, %s)
        ON CONFLICT (id) DO NOTHING RETURNING 1
    )
    SELECT require(count(*) = 1, 'the execution exists') FROM created
"""


async def send_create(conn: Connection, record: ExecutionRecord, started: WorkflowStarted) -> None:
    """Send, in the caller's pipeline, the creation of an execution and its start message.

    Reads no answer: when the id is taken, the server raises ``CHECK_FAILED``
    as the pipeline is synced, which rolls back everything sent with it.
    """
    await conn.execute(
        _CREATE_CHECKED, (record.id, record.workflow, record.status.value, dump_record(record))
    )
    await conn.execute(
        "INSERT INTO history (execution_id, position, event) VALUES (%s, 0, %s)",
        (record.id, dump_event(started)),
    )
    await enqueue(
        conn,
        [InboundMessage(id=start_message_id(record.id), execution_id=record.id, event=started)],
    )


async def report_clash(
    conn: Connection, existing: ExecutionRecord, started: WorkflowStarted
) -> None:
    """Tell a parent that its child's id is taken by an execution with another input."""
    message = clash_message(existing, started)
    if message is not None:
        await enqueue(conn, [message])
