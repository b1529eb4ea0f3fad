"""The bodies the system API reads and answers, as typed records.

Their types are also what the OpenAPI document describes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Annotated, Any, Final

import attrs

from eventual import ExecutionStatus
from eventual.codec import JsonValue, check_storable, encode
from eventual.history import ExecutionRecord, HistoryEvent, history_event_to_json
from eventual.spi import DeadLetter, LogEntry

from ._params import MAX_NAME, MAX_TOKEN
from ._schema import Bounds

__all__ = [
    "WITHHELD_HEADER",
    "Accepted",
    "CompleteTask",
    "DeadLetterPage",
    "ExecutionPageBody",
    "FailTask",
    "Health",
    "HistoryBody",
    "LogsBody",
    "Redrive",
    "Redriven",
    "SignalAnswer",
    "StartExecution",
    "Started",
    "event_json",
    "page_json",
    "record_json",
]

log = logging.getLogger("eventual.http")

_TASK_TOKEN = Bounds.of(maxLength=MAX_TOKEN, pattern=r"^.+\|[0-9]+\|[0-9]+(\|[A-Za-z0-9_-]{22})?$")
_EXECUTION_NAME = Bounds.of(minLength=1, maxLength=MAX_NAME, pattern="^[^/]+$")


@attrs.frozen(kw_only=True)
class StartExecution:
    """Body of ``POST /_eventual/executions``: which workflow, its input, its name."""

    workflow: Annotated[str, Bounds.of(maxLength=MAX_NAME)]
    input: Any = None  # JSON, checked against the workflow's input type
    name: Annotated[str, _EXECUTION_NAME] | None = None


@attrs.frozen(kw_only=True)
class CompleteTask:
    """Body of ``POST /_eventual/tasks/complete``: the task's token and its result."""

    token: Annotated[str, _TASK_TOKEN]
    result: Any = None  # JSON


@attrs.frozen(kw_only=True)
class FailTask:
    """Body of ``POST /_eventual/tasks/fail``: the task's token and its error."""

    token: Annotated[str, _TASK_TOKEN]
    error_type: str = "Error"
    message: str = ""


@attrs.frozen(kw_only=True)
class Redrive:
    """Body of ``POST /_eventual/dead-letters/redrive``: which ones (all when null)."""

    ids: list[str] | None = None


@attrs.frozen(kw_only=True)
class ExecutionPageBody:
    """A page of executions, newest first, and the cursor of the next page."""

    executions: list[ExecutionRecord]
    next: str | None
    withheld: list[str] = attrs.field(factory=list)
    """Ids of executions whose input or result could not be served (shown as null)."""


@attrs.frozen(kw_only=True)
class DeadLetterPage:
    """A page of dead letters, oldest first, and the cursor of the next page."""

    dead_letters: list[DeadLetter]
    next: str | None


@attrs.frozen(kw_only=True)
class Accepted:
    """What the system API answers when it has accepted a request."""

    accepted: bool = True


@attrs.frozen(kw_only=True)
class SignalAnswer:
    """What the system API answers to a signal.

    Attributes:
        accepted: True when the signal was queued while the execution still
            ran (read once it was queued), or when the execution has ended since
            and its history records the signal (a ``SignalReceived`` with the
            message's id, taken before the end); False when the execution ended
            before taking it, so the signal was discarded.
        message: Why it was not accepted, when it was not.
    """

    accepted: bool = True
    message: str | None = None


@attrs.frozen(kw_only=True)
class Started:
    """The id of a started (or already existing, same input) execution."""

    id: str


@attrs.frozen(kw_only=True)
class Redriven:
    """How many dead letters were delivered again."""

    redriven: int


@attrs.frozen(kw_only=True)
class Health:
    """The health check's answer."""

    status: str
    service: str


@attrs.frozen(kw_only=True)
class HistoryBody:
    """An execution's history events, oldest first (each with its ``type``).

    Attributes:
        events: The events from position ``after`` on (all of them by default).
        next: The history's length: pass it as ``after`` to get only newer events.
        status: The execution's status when the history was read.
    """

    events: list[dict[str, Any]]
    next: int
    status: ExecutionStatus


@attrs.frozen(kw_only=True)
class LogsBody:
    """Log entries kept of an execution, oldest first.

    Attributes:
        entries: The entries after position ``after`` (each with its ``position``).
        next: The last entry's position: pass it as ``after`` to get only newer ones.
        status: The execution's status when the entries were read.
    """

    entries: list[LogEntry]
    next: int
    status: ExecutionStatus


WITHHELD_HEADER: Final = "x-eventual-withheld"
"""Names the parts of a record left out (null) because they cannot be served."""


_SECRET: Final = "task_key"
"""The field of records and ``WorkflowStarted`` never served: it signs task tokens."""


def _served(data: JsonValue) -> JsonValue:
    if isinstance(data, dict):
        data.pop(_SECRET, None)
    return data


def event_json(event: HistoryEvent) -> dict[str, JsonValue]:
    """Return a history event as the system API serves it: without the task key."""
    data = history_event_to_json(event)
    data.pop(_SECRET, None)
    return data


def page_json(records: Sequence[ExecutionRecord], next: str | None) -> JsonValue:
    """Return a page of the execution list, each record without its task key.

    Raises:
        ValueError: A record cannot be served (see :func:`record_json`).
    """
    data = encode(ExecutionPageBody(executions=list(records), next=next))
    assert isinstance(data, dict)
    executions = data["executions"]
    assert isinstance(executions, list)
    for record in executions:
        _served(record)
    return data


def record_json(record: ExecutionRecord) -> tuple[JsonValue, bool]:
    """Return a record as JSON (without its task key) and whether it is whole.

    A record stored before today's checks may hold an input or result that cannot
    be served (a lone surrogate, nesting deeper than a JSON writer goes); it is
    served with those left null, and logged, rather than failing the request.
    """
    try:
        # The same limits as at the edge, so what is withheld does not depend on how
        # deep the running Python's JSON writer happens to go.
        check_storable(record.input)
        check_storable(record.result)
        data = _served(encode(record))
        json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, RecursionError):  # ValidationError and UnicodeEncodeError too
        log.warning("execution %s: its input or result cannot be served", record.id)
        return _served(encode(attrs.evolve(record, input=None, result=None))), False
    return data, True
