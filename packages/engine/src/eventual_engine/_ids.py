"""Every id and token the engine persists, built and parsed here only.

Ids are stored in histories, message and timer rows, task claims and the
outbox, and some are deterministic on purpose: a redelivered message, a timer
fired twice or a step computed again after a lost commit produces the same id,
which the backend recognises. Their formats are therefore part of what a
recorded history means; changing one breaks replay and deduplication of
executions already stored. The two formats the core's contracts define
(``execution_id``, ``start_message_id`` in ``eventual.spi``) are re-exported
here so engine code finds every format in one module.
"""

from __future__ import annotations

import hashlib
import re

import attrs
from ulid import ULID

from eventual import EventualError
from eventual.spi import (
    TimerKind,
    execution_id,
    new_execution_name,
    process_owner,
    start_message_id,
)

__all__ = [
    "TaskToken",
    "cancel_message_id",
    "carried_signal_id",
    "child_cancel_message_id",
    "child_execution_name",
    "child_outcome_message_id",
    "clash_message_id",
    "deadline_timer_ids",
    "execution_id",
    "lease_token",
    "new_event_id",
    "new_execution_name",
    "new_owner",
    "outbox_id",
    "outcome_message_id",
    "parse_outbox_id",
    "parse_task_token",
    "relayed_event_id",
    "seed_for",
    "sent_signal_message_id",
    "signal_message_id",
    "start_message_id",
    "task_token",
    "timer_id",
]

# --- executions ---------------------------------------------------------------------


def child_execution_name(parent_name: str, seq: int) -> str:
    """Return the default name of the child an execution named ``parent_name`` starts at ``seq``."""
    return f"{parent_name}-{seq}"


def seed_for(execution: str) -> int:
    """Return the seed of an execution's deterministic random numbers."""
    return int.from_bytes(hashlib.sha256(execution.encode("utf-8")).digest()[:8], "big")


# --- task attempts -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TaskToken:
    """The parts of a task token, ``{execution}|{seq}|{attempt}``.

    Attributes:
        execution_id: The execution that scheduled the task.
        seq: The task call's sequence number.
        attempt: The attempt, 1 for the first.
    """

    execution_id: str
    seq: int
    attempt: int

    def __str__(self) -> str:
        return task_token(self.execution_id, self.seq, self.attempt)


def task_token(execution: str, seq: int, attempt: int) -> str:
    """Return the deterministic token of one task attempt."""
    return f"{execution}|{seq}|{attempt}"


_NUMBER = re.compile(r"[0-9]+")


def parse_task_token(token: str) -> TaskToken:
    """Split a task token into its execution, sequence number and attempt.

    Raises:
        EventualError: ``token`` is not ``{execution}|{seq}|{attempt}`` with
            decimal numbers.
    """
    parts = token.rsplit("|", 2)
    if len(parts) != 3 or not parts[0] or not all(_NUMBER.fullmatch(p) for p in parts[1:]):
        raise EventualError(
            f"invalid task token {token!r}: expected 'execution|seq|attempt', as task_info() "
            "gives it"
        )
    return TaskToken(execution_id=parts[0], seq=int(parts[1]), attempt=int(parts[2]))


# --- timers ---------------------------------------------------------------------------


def timer_id(execution: str, kind: TimerKind, seq: int = 0, attempt: int = 0) -> str:
    """Return the deterministic id of a durable timer (and of the message it fires)."""
    return f"{execution}|{kind}|{seq}|{attempt}"


def deadline_timer_ids(token: TaskToken) -> list[str]:
    """Return the ids of an attempt's deadline timers: its timeout, then its heartbeat check."""
    return [
        timer_id(token.execution_id, "task_timeout", token.seq, token.attempt),
        timer_id(token.execution_id, "heartbeat", token.seq, token.attempt),
    ]


# --- inbound messages -------------------------------------------------------------------


def outcome_message_id(token: str) -> str:
    """Return the id of the message carrying a task attempt's outcome."""
    return f"{token}|done"


def cancel_message_id(execution: str) -> str:
    """Return the id of the message asking an execution to cancel."""
    return f"{execution}|cancel"


def child_cancel_message_id(parent: str, child: str) -> str:
    """Return the id of the message by which an ending parent cancels its child."""
    return f"{parent}|cancel|{child}"


def child_outcome_message_id(child: str) -> str:
    """Return the id of the message telling a parent how its child ended."""
    return f"{child}|outcome"


def clash_message_id(child: str, parent: str) -> str:
    """Return the id of the message telling a parent its child's id is taken."""
    return f"{child}|clash|{parent}"


def signal_message_id() -> str:
    """Return a new id for a signal sent from outside any workflow (each send is new)."""
    return f"signal|{ULID()}"


def sent_signal_message_id(sender: str, seq: int) -> str:
    """Return the id of the signal a workflow sent at ``seq`` (deterministic: sent once)."""
    return f"{sender}|signal|{seq}"


def carried_signal_id(execution_id: str, run: int, n: int) -> str:
    """Return the id of the ``n``-th signal a run hands to run ``run`` (``continue_as_new``)."""
    return f"{execution_id}|run|{run}|signal|{n}"


# --- published events and the outbox ----------------------------------------------------


def new_event_id() -> str:
    """Return a new id for a published event (fixed when first written, then kept)."""
    return str(ULID())


def outbox_id(execution: str, number: int) -> str:
    """Return the id of an outbox entry: the publishing execution and a backend's number."""
    return f"{execution}|{number}"


def parse_outbox_id(id_: str) -> tuple[str, int] | None:
    """Return the execution and number of an outbox id, or None when it is not one."""
    execution, _, number = id_.rpartition("|")
    if not _NUMBER.fullmatch(number):
        return None
    return execution, int(number)


def relayed_event_id(service: str, outbox: str) -> str:
    """Return the bus id of an outbox event stored without an id of its own."""
    return f"{service}|{outbox}"


# --- claims -----------------------------------------------------------------------------


def new_owner() -> str:
    """Return a new owner name for the leases of one engine.

    It names this process (see ``eventual.spi.process_owner``), so a backend
    restarted on the same machine can tell that a dead engine's leases will never
    be renewed and take its work back without waiting for them to lapse.
    """
    return process_owner("engine")


def lease_token(owner: str, unique: str) -> str:
    """Return the token of one claim by ``owner``; ``unique`` tells its claims apart."""
    return f"{owner}:{unique}"
