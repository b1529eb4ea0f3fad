"""SPI values as stored text, for any backend: JSON through the codec, times as integers.

Every backend keeps history events, execution records, task and timer requests
and published events as JSON text, and compares times as integer microseconds
since the Unix epoch (exact for every ``datetime``, sortable, indexable). These
functions are that one format, shared by the SQLite, DynamoDB and any
third-party backend, so a value written by one reads back the same everywhere.
"""

from __future__ import annotations

import json
import typing
from datetime import UTC, datetime, timedelta
from typing import Final

from ._codec import decode, encode
from ._errors import ValidationError
from ._history import (
    ExecutionRecord,
    HistoryEvent,
    PublishedEvent,
    history_event_from_json,
    history_event_to_json,
)
from ._spi import TaskRequest, TimerRequest

__all__ = [
    "dump_event",
    "dump_json",
    "dump_published",
    "dump_record",
    "dump_task",
    "dump_timer",
    "from_micros",
    "load_event",
    "load_published",
    "load_record",
    "load_task",
    "load_timer",
    "micros",
]

_TASK_FIELDS: Final = {
    name: type_ for name, type_ in typing.get_type_hints(TaskRequest).items() if name != "args"
}

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# One encoder object: json.dumps with options builds a new encoder on every call.
dump_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
"""Return JSON-ready data as compact UTF-8-ready JSON text."""


def micros(when: datetime) -> int:
    """Return ``when`` as integer microseconds since the Unix epoch.

    Raises:
        ValueError: ``when`` is naive: the backend cannot know its time zone.
    """
    if when.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {when!r}")
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """Return the UTC datetime of :func:`micros`' result."""
    return _EPOCH + timedelta(microseconds=value)


def dump_event(event: HistoryEvent) -> str:
    """Return a history event as JSON text."""
    return dump_json(history_event_to_json(event))


def load_event(text: str) -> HistoryEvent:
    """Read a history event from JSON text."""
    return history_event_from_json(json.loads(text))


def dump_record(record: ExecutionRecord) -> str:
    """Return an execution record as JSON text."""
    return dump_json(encode(record, ExecutionRecord))


def load_record(text: str) -> ExecutionRecord:
    """Read an execution record from JSON text."""
    return decode(json.loads(text), ExecutionRecord, path="record")


def dump_task(task: TaskRequest) -> str:
    """Return a task request as JSON text."""
    return dump_json(encode(task, TaskRequest))


def load_task(text: str) -> TaskRequest:
    """Read a task request from JSON text."""
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("args"), list):
        raise ValidationError("task", f"expected a task request, got {text[:60]!r}")
    # The codec cannot build a decoder for ``args: list[JsonValue]`` (the recursive
    # alias stays a forward reference), so each other field is decoded by its type
    # and ``args``, plain JSON the codec itself wrote, is kept as read.
    fields = {
        name: decode(data[name], type_, path=f"task.{name}")
        for name, type_ in _TASK_FIELDS.items()
        if name in data
    }
    return TaskRequest(args=data["args"], **fields)


def dump_timer(timer: TimerRequest) -> str:
    """Return a timer request as JSON text."""
    return dump_json(encode(timer, TimerRequest))


def load_timer(text: str) -> TimerRequest:
    """Read a timer request from JSON text."""
    return decode(json.loads(text), TimerRequest, path="timer")


def dump_published(event: PublishedEvent) -> str:
    """Return a published event as JSON text."""
    return dump_json(encode(event, PublishedEvent))


def load_published(text: str) -> PublishedEvent:
    """Read a published event from JSON text."""
    return decode(json.loads(text), PublishedEvent, path="published")
