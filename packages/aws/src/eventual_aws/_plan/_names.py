"""Physical names of the resources whose names the plan fixes, within AWS's limits.

Queue names are fixed by the plan (``<prefix>-<suffix>``) so that the runtime
finds a task's queue from the task's name without one environment variable per
task; function, rule and schedule group names are fixed so that a deploy keeps
them stable. A name that would pass its service's limit is shortened
deterministically: its head is kept and ``-`` plus the first 8 hexadecimal digits
of the SHA-256 of the full name replaces the rest, so the same definition always
gets the same name and two long names that share a head still differ. The
runtime computes a task's queue name with :func:`queue_name`, the same function
the plan uses.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from eventual import EventualError

__all__ = [
    "FUNCTION_NAME_LIMIT",
    "PREFIX_LIMIT",
    "QUEUE_NAME_LIMIT",
    "RULE_NAME_LIMIT",
    "SCHEDULE_GROUP_NAME_LIMIT",
    "SCHEDULE_NAME_LIMIT",
    "PlanError",
    "check_prefix",
    "function_name",
    "queue_name",
    "rule_name",
    "schedule_name",
    "shorten",
]

QUEUE_NAME_LIMIT: Final = 80
"""SQS: at most 80 characters, ``.fifo`` included."""
FUNCTION_NAME_LIMIT: Final = 64
"""Lambda: a function name is at most 64 characters."""
RULE_NAME_LIMIT: Final = 64
"""EventBridge: a rule name is at most 64 characters."""
SCHEDULE_GROUP_NAME_LIMIT: Final = 64
"""EventBridge Scheduler: a schedule group name is at most 64 characters."""
SCHEDULE_NAME_LIMIT: Final = 64
"""EventBridge Scheduler: a schedule name is at most 64 characters of ``[0-9a-zA-Z-_.]``."""
PREFIX_LIMIT: Final = 40
"""A prefix leaves room for the longest fixed suffix (``-workflow-dlq.fifo``, ``-orchestrator``)."""

_HASH_LENGTH: Final = 8
_PREFIX: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# SQS queue and Lambda function names: letters, digits, '-' and '_'. Definition
# names may also hold '.', which becomes '-'.
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_-]")
_UNSAFE_IN_SCHEDULES: Final = re.compile(r"[^A-Za-z0-9_.-]")


class PlanError(EventualError, ValueError):
    """A service cannot be planned for AWS as it is defined.

    The message names the definition (or the setting) and what to change.
    """


def check_prefix(prefix: str, *, origin: str) -> str:
    """Return ``prefix`` when it can start every physical name, else raise :class:`PlanError`.

    Args:
        prefix: The prefix of the physical names.
        origin: Where it came from, for the message (``"the service name"``).
    """
    if not _PREFIX.match(prefix) or len(prefix) > PREFIX_LIMIT:
        raise PlanError(
            f"{origin} {prefix!r} cannot prefix AWS resource names: use 1-{PREFIX_LIMIT} "
            "letters, digits, '-' or '_', starting with a letter or digit (pass prefix=, "
            "or --prefix to eventual plan)"
        )
    return prefix


def shorten(name: str, limit: int, *, keep_suffix: str = "") -> str:
    """Return ``name`` if it fits in ``limit`` characters, else a deterministic shortening.

    Args:
        name: The full name (``keep_suffix`` excluded).
        limit: The most characters allowed, ``keep_suffix`` included.
        keep_suffix: A suffix kept as it is (``.fifo``).
    """
    room = limit - len(keep_suffix)
    if len(name) <= room:
        return name + keep_suffix
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LENGTH]
    head = name[: room - _HASH_LENGTH - 1].rstrip("-_.")
    return f"{head}-{digest}{keep_suffix}"


def _safe(text: str) -> str:
    return _UNSAFE.sub("-", text)


def queue_name(prefix: str, suffix: str, *, fifo: bool = False) -> str:
    """Return the SQS name of the queue ``<prefix>-<suffix>`` (``task-reserve_stock``).

    Args:
        prefix: The plan's prefix (``EVENTUAL_AWS_QUEUE_PREFIX``).
        suffix: What the queue is for: ``workflow``, ``timer``, ``task-<task>``,
            ``subscription-<subscription>``, each with ``-dlq`` for its dead-letter queue.
        fifo: Whether it is a FIFO queue (its name ends in ``.fifo``).
    """
    return shorten(
        _safe(f"{prefix}-{suffix}"), QUEUE_NAME_LIMIT, keep_suffix=".fifo" if fifo else ""
    )


def function_name(prefix: str, name: str) -> str:
    """Return the Lambda function name of the plan's function ``name``."""
    return shorten(_safe(f"{prefix}-{name}"), FUNCTION_NAME_LIMIT)


def rule_name(prefix: str, subscription: str) -> str:
    """Return the EventBridge rule name of a subscription (``.`` is allowed there)."""
    return shorten(f"{prefix}-{subscription}", RULE_NAME_LIMIT)


def schedule_name(workflow: str) -> str:
    """Return the name of a scheduled workflow's recurring schedule in the service's group.

    One-time timer schedules are named ``t-<hash>``, so ``workflow-`` keeps the two apart.
    """
    return shorten(_UNSAFE_IN_SCHEDULES.sub("-", f"workflow-{workflow}"), SCHEDULE_NAME_LIMIT)
