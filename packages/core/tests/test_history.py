"""History events and execution records round-trip through JSON unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventual import ExecutionStatus, ValidationError
from eventual.codec import decode, encode
from eventual.history import (
    HISTORY_EVENT_TYPES,
    ExecutionRecord,
    HistoryEvent,
    PublishedEvent,
    history_event_from_json,
    history_event_to_json,
    input_digest,
)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def _strategy_for(field: attrs.Attribute[Any]) -> st.SearchStrategy[Any]:
    annotation = str(field.type)
    if field.name == "events":
        return st.lists(
            st.builds(PublishedEvent, name=st.text(min_size=1, max_size=5), payload=json_values),
            max_size=3,
        )
    if "datetime" in annotation:
        return instants if "None" not in annotation else st.none() | instants
    if annotation == "int" or annotation == "int | None":
        return st.integers(0, 10_000)
    if annotation == "bool":
        return st.booleans()
    if annotation.startswith("str"):
        return (
            st.text(max_size=10) if "None" not in annotation else st.none() | st.text(max_size=10)
        )
    if annotation == "list[str]":
        return st.lists(st.text(max_size=10), max_size=3)
    if annotation == "tuple[str, ...]":
        return st.lists(st.text(max_size=10), max_size=3).map(tuple)
    if annotation.startswith("list"):
        return st.lists(json_values, max_size=3)
    return json_values


def _events() -> st.SearchStrategy[HistoryEvent]:
    choices = []
    for cls in HISTORY_EVENT_TYPES.values():
        fields = {f.name: _strategy_for(f) for f in attrs.fields(cls)}
        choices.append(st.builds(cls, **fields))
    return st.one_of(choices)


@given(_events())
def test_history_events_round_trip(event: HistoryEvent) -> None:
    """Every history event type survives to_json -> JSON text -> from_json unchanged."""
    data = history_event_to_json(event)
    assert data["type"] == event.type
    assert history_event_from_json(json.loads(json.dumps(data))) == event


def test_every_event_type_is_registered() -> None:
    """Each concrete history event class is in HISTORY_EVENT_TYPES under its type name."""
    assert all(cls.type == name for name, cls in HISTORY_EVENT_TYPES.items())
    assert {"WorkflowStarted", "TaskScheduled", "TimerFired", "EventsPublished"} <= set(
        HISTORY_EVENT_TYPES
    )


def test_unknown_event_type_is_rejected() -> None:
    """An unknown type tag fails with a clear error instead of guessing."""
    with pytest.raises(ValidationError, match="unknown history event type 'Nope'"):
        history_event_from_json({"type": "Nope", "timestamp": "2026-01-01T00:00:00Z"})


def test_bad_field_names_its_path() -> None:
    """A malformed field in a stored event names the event type and field."""
    with pytest.raises(ValidationError) as info:
        history_event_from_json(
            {"type": "TimerFired", "timestamp": "2026-01-01T00:00:00Z", "seq": "x"}
        )
    assert info.value.path == "TimerFired.seq"


@given(
    st.builds(
        ExecutionRecord,
        id=st.text(min_size=1, max_size=10),
        workflow=st.text(min_size=1, max_size=10),
        name=st.text(min_size=1, max_size=10),
        status=st.sampled_from(ExecutionStatus),
        input=json_values,
        input_digest=st.text(max_size=64),
        parent_id=st.none() | st.text(max_size=10),
        started_at=instants,
        ended_at=st.none() | instants,
        result=json_values,
        error_type=st.none() | st.text(max_size=10),
        message=st.none() | st.text(max_size=10),
    )
)
def test_execution_record_round_trip(record: ExecutionRecord) -> None:
    """An execution record survives a JSON round-trip unchanged."""
    assert decode(json.loads(json.dumps(encode(record))), ExecutionRecord) == record


def test_input_digest_ignores_key_order() -> None:
    """The input digest identifies equal JSON inputs whatever their key order."""
    assert input_digest({"a": 1, "b": [1, 2]}) == input_digest({"b": [1, 2], "a": 1})
    assert input_digest({"a": 1}) != input_digest({"a": 2})
    assert len(input_digest(None)) == 64
