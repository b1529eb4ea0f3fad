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

import base64
import hashlib
import hmac
import re
import secrets
from typing import Final

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
    "MAC_LENGTH",
    "TaskToken",
    "cancel_message_id",
    "carried_signal_id",
    "child_cancel_message_id",
    "child_execution_name",
    "child_outcome_message_id",
    "child_task_key",
    "clash_message_id",
    "completion_token",
    "deadline_timer_ids",
    "execution_id",
    "is_carried_signal_id",
    "lease_token",
    "new_event_id",
    "new_execution_name",
    "new_owner",
    "new_task_key",
    "outbox_id",
    "outcome_message_id",
    "parse_outbox_id",
    "parse_task_token",
    "relayed_event_id",
    "seed_for",
    "sent_signal_message_id",
    "signal_message_id",
    "start_message_id",
    "task_mac",
    "task_token",
    "timer_id",
    "token_matches",
]

# --- executions ---------------------------------------------------------------------


def child_execution_name(parent_name: str, seq: int) -> str:
    """Return the default name of the child an execution named ``parent_name`` starts at ``seq``."""
    return f"{parent_name}-{seq}"


def seed_for(execution: str) -> int:
    """Return the seed of an execution's deterministic random numbers."""
    return int.from_bytes(hashlib.sha256(execution.encode("utf-8")).digest()[:8], "big")


# --- task attempts -------------------------------------------------------------------
#
# An attempt has two names. Its id, ``{execution}|{seq}|{attempt}`` (``task_token``),
# is deterministic: the engine derives it from a timer or a call and keys task
# rows, outcome messages and deadline timers by it. Its completion token, what
# ``task_info().token`` gives the task body and ``complete_task`` takes, is the id
# followed by ``|{mac}``: an HMAC-SHA256 of the id under the execution's secret
# task key (``WorkflowStarted.task_key``), so knowing an execution id is not
# enough to finish its tasks. Keeping the id apart leaves every stored key and
# message id as it was, and executions started before tokens were signed (no
# key) keep accepting their three-part tokens. A key is per execution rather
# than per service so that nothing outside the execution's own record needs
# storing, rotating or sharing between processes; a child's key is derived from
# its parent's, so a step that starts a child stays deterministic.

_KEY_BYTES: Final = 32
_MAC_BYTES: Final = 16
"""128 bits: forging one token takes about 2**127 tries."""
MAC_LENGTH: Final = 22
"""Characters of a mac: 16 bytes in URL-safe base64 without padding."""


@attrs.frozen(kw_only=True)
class TaskToken:
    """The parts of a task token, ``{execution}|{seq}|{attempt}[|{mac}]``.

    ``str()`` of it is the attempt's id, without the mac.

    Attributes:
        execution_id: The execution that scheduled the task.
        seq: The task call's sequence number.
        attempt: The attempt, 1 for the first.
        mac: The signature, None in a three-part token.
    """

    execution_id: str
    seq: int
    attempt: int
    mac: str | None = attrs.field(default=None, repr=False)

    def __str__(self) -> str:
        return task_token(self.execution_id, self.seq, self.attempt)


def task_token(execution: str, seq: int, attempt: int) -> str:
    """Return the deterministic id of one task attempt (its three-part token)."""
    return f"{execution}|{seq}|{attempt}"


def _base64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_task_key() -> str:
    """Return a new random secret for an execution's task tokens."""
    return _base64(secrets.token_bytes(_KEY_BYTES))


def child_task_key(parent_key: str | None, child: str) -> str | None:
    """Return the task key of ``child``, derived from its parent's (None stays None).

    Derived, not drawn, so a step computed again starts the same child.
    """
    if parent_key is None:
        return None
    digest = hmac.new(parent_key.encode("ascii"), f"child|{child}".encode(), hashlib.sha256)
    return _base64(digest.digest())


def task_mac(key: str, execution: str, seq: int, attempt: int) -> str:
    """Return the signature of one attempt's id under an execution's task key."""
    message = task_token(execution, seq, attempt).encode("utf-8")
    digest = hmac.new(key.encode("ascii"), message, hashlib.sha256).digest()
    return _base64(digest[:_MAC_BYTES])


def completion_token(id_: str, mac: str | None) -> str:
    """Return the token ``task_info()`` gives: the attempt's id, then its mac if signed."""
    return id_ if mac is None else f"{id_}|{mac}"


def token_matches(token: TaskToken, key: str | None) -> bool:
    """Return whether ``token`` is one its execution (with task key ``key``) gave out.

    A signed execution takes only its own four-part tokens; one started before
    tokens were signed (``key`` None) only three-part ones.
    """
    if key is None:
        return token.mac is None
    if token.mac is None:
        return False
    expected = task_mac(key, token.execution_id, token.seq, token.attempt)
    return hmac.compare_digest(expected.encode("ascii"), token.mac.encode("ascii"))


_NUMBER = re.compile(r"[0-9]+")
_MAC = re.compile(f"[A-Za-z0-9_-]{{{MAC_LENGTH}}}")


def parse_task_token(token: str) -> TaskToken:
    """Split a task token into its execution, sequence number, attempt and mac.

    A last part of exactly a mac's length and alphabet after two numbers is the
    mac; otherwise the token is read as three parts (an attempt number is never
    22 digits long, so the two forms cannot be confused).

    Raises:
        EventualError: ``token`` is neither ``{execution}|{seq}|{attempt}|{mac}``
            nor ``{execution}|{seq}|{attempt}`` with decimal numbers.
    """
    parts = token.rsplit("|", 3)
    if len(parts) == 4 and _MAC.fullmatch(parts[3]) and _numbered(parts[:3]):
        return TaskToken(
            execution_id=parts[0], seq=int(parts[1]), attempt=int(parts[2]), mac=parts[3]
        )
    parts = token.rsplit("|", 2)
    if len(parts) != 3 or not _numbered(parts):
        raise EventualError(
            f"invalid task token {token!r}: expected 'execution|seq|attempt|mac', as "
            "task_info() gives it"
        )
    return TaskToken(execution_id=parts[0], seq=int(parts[1]), attempt=int(parts[2]))


def _numbered(parts: list[str]) -> bool:
    return bool(parts[0]) and all(_NUMBER.fullmatch(p) for p in parts[1:])


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
    """Return a new id for a request to cancel an execution (each request is new).

    Requests used to share ``{execution}|cancel``; a request is now told apart
    from a repeat of one an earlier run applied (``WorkflowStarted.applied_ids``).
    """
    return f"{execution}|cancel|{ULID()}"


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


def is_carried_signal_id(execution_id: str, id_: str) -> bool:
    """Return whether ``id_`` is one :func:`carried_signal_id` gave a run of this execution."""
    return id_.startswith(f"{execution_id}|run|")


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
