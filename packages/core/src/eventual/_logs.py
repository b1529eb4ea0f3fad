"""Logs of workflow code and task bodies: ``logger``, and how they are kept per execution.

``logger`` is a standard :class:`logging.LoggerAdapter` over the ``eventual.workflow``
logger, so handlers, formatters and levels configured with :mod:`logging` apply.
What it adds:

- **Silent on replay.** Workflow code runs again each time an execution is
  rebuilt from its history; a record made while the code re-runs what the
  history records is dropped, so each line is logged once, when the step first
  ran.
- **Tagged.** Each record carries ``execution_id`` and ``seq`` (the call the
  workflow made last, or the task's own call), and in a task body ``task`` and
  ``attempt``, as attributes a formatter can name (``%(execution_id)s``).
- **Kept per execution.** Records of level INFO and above are also handed to the
  runtime, which stores them with the execution whatever :mod:`logging`'s levels
  say (the system API serves them, ``eventual logs`` prints them). A backend that
  stores them implements :class:`LogStore`.

Rejected: a log stream per execution (eventual's choice on AWS, which capped
starts at about 50 per second) and log lines in history (they would grow what
every replay reads).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from ._runtime import current_task_context, current_workflow_runtime

__all__ = ["KEPT_LEVEL", "LogEntry", "LogStore", "WorkflowLogger", "logger"]

KEPT_LEVEL = logging.INFO
"""Records at this level and above are kept with their execution."""


@attrs.frozen(kw_only=True)
class LogEntry:
    """One log record kept with its execution.

    Attributes:
        execution_id: The execution whose code logged it.
        key: Unique within the execution and the same when a step runs again
            (``{seq}|workflow|{n}`` or ``{seq}|{attempt}|{n}`` for a task body),
            so a store keeps one copy.
        time: When it was logged (the execution's time in workflow code).
        level: The level's name (``"INFO"``).
        message: The formatted message.
        seq: The sequence number it is tagged with.
        task: The task whose body logged it; None for workflow code.
        attempt: The task's attempt; None for workflow code.
        position: Its place among the execution's entries, set by the store
            when read (1 is the first); ``after=`` of :meth:`LogStore.logs` takes it.
    """

    execution_id: str
    key: str
    time: datetime
    level: str
    message: str
    seq: int
    task: str | None = None
    attempt: int | None = None
    position: int = 0


@runtime_checkable
class LogStore(Protocol):
    """Where a backend keeps log entries per execution (optional for a backend).

    A backend offering it has a ``logs`` attribute implementing it; the engine
    checks, so a backend written before logs existed keeps working without them.
    """

    async def append_logs(self, entries: Sequence[LogEntry]) -> None:
        """Store entries; one whose ``(execution_id, key)`` is stored already is skipped."""

    async def read_logs(
        self, execution_id: str, after: int = 0, limit: int = 1000
    ) -> list[LogEntry]:
        """Return the execution's entries with ``position > after``, oldest first."""


class WorkflowLogger(logging.LoggerAdapter[logging.Logger]):
    """The type of :data:`logger`: silent on replay, tagged, kept per execution."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Add the execution's tags to the record's ``extra``."""
        tags = _tags()
        if tags:
            given: Mapping[str, Any] = kwargs.get("extra") or {}
            kwargs["extra"] = {**tags, **given}
        return msg, kwargs

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """Log unless replaying; keep INFO and above with the execution."""
        runtime = current_workflow_runtime()
        if level >= KEPT_LEVEL:
            # Told even on replay: the runtime counts lines to key them, and drops them.
            sink = runtime if runtime is not None else current_task_context()
            if sink is not None:
                sink.keep_log(logging.getLevelName(level), _message(msg, args))
        if runtime is not None and runtime.is_replaying():
            return
        if self.isEnabledFor(level):
            kwargs.setdefault("stacklevel", 1)
            # Past this method (logging skips its own frames, LoggerAdapter.info's
            # included): the record names the caller's line.
            kwargs["stacklevel"] += 1
            msg, processed = self.process(msg, kwargs)
            self.logger.log(level, msg, *args, **processed)


def _message(msg: object, args: tuple[object, ...]) -> str:
    if not args:
        return str(msg)
    try:
        return str(msg) % args
    except (TypeError, ValueError):
        # logging reports a bad format on its own; the kept line says what was given.
        return f"{msg} {args!r}"


def _tags() -> dict[str, Any]:
    runtime = current_workflow_runtime()
    if runtime is not None:
        return runtime.log_tags()
    context = current_task_context()
    if context is not None:
        return context.log_tags()
    return {}


logger = WorkflowLogger(logging.getLogger("eventual.workflow"))
"""The logger for workflow code and task bodies (see the module documentation)."""
