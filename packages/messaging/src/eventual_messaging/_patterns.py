"""EventBridge event-pattern matching, evaluated locally.

The local buses route with the patterns that ``Event.where`` produces, which are
exactly what an EventBridge rule holds on AWS. Matching them here, rather than
running a Python predicate, keeps the two runtimes in agreement and lets a bus
route events for subscribers whose code is not loaded in the publishing process.

Semantics (those of EventBridge for the subset ``Event.where`` produces):

- Every key of a pattern must match (AND); a key's list matches when any of its
  items does (OR).
- A list value in the event matches when any of its elements does. A nested
  pattern applied to a list of objects must match one element as a whole.
- Exact values compare by JSON type: a string equals a string, a boolean a
  boolean, ``null`` only ``null``; numbers compare numerically (``5`` equals
  ``5.0``), and a boolean is never a number.
- ``{"prefix": p}`` matches strings starting with ``p``; ``{"numeric": [...]}``
  numbers (not booleans) satisfying every comparison.
- Matchers apply to leaves. EventBridge flattens an event into leaf fields, so a
  field whose value is an object, an empty list or a list of objects only is not
  there for a leaf condition, and neither is anything below a missing, ``null``
  or scalar value: ``{"exists": false}`` matches them, nothing else does.
  ``{"exists": true}`` matches a field holding any leaf value, ``null`` included.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from eventual.spi import EventEnvelope

__all__ = ["event_document", "matches", "matches_envelope"]

_MISSING = object()


def event_document(envelope: EventEnvelope) -> dict[str, Any]:
    """Return the envelope as the JSON document EventBridge matches patterns against."""
    return {"detail-type": envelope.name, "source": envelope.source, "detail": envelope.payload}


def matches_envelope(pattern: Mapping[str, Any], envelope: EventEnvelope) -> bool:
    """Return whether an EventBridge ``pattern`` matches the envelope."""
    return matches(pattern, event_document(envelope))


def matches(pattern: Mapping[str, Any], document: Any) -> bool:
    """Return whether an EventBridge ``pattern`` matches a JSON ``document``.

    Args:
        pattern: An event pattern, e.g. ``{"detail-type": ["A"], "detail": {"n": [1]}}``.
        document: The event, e.g. ``{"detail-type": "A", "detail": {"n": 1}}``.
    """
    if isinstance(document, list):
        objects = [element for element in _flatten(document) if isinstance(element, Mapping)]
        if objects:
            return any(matches(pattern, element) for element in objects)
    if not isinstance(document, Mapping):
        document = {}  # a value with no fields: every field below it is absent
    for key, expected in pattern.items():
        value = document.get(key, _MISSING)
        if isinstance(expected, Mapping):
            if not matches(expected, {} if value is _MISSING else value):
                return False
        elif not _leaf_matches(expected, value):
            return False
    return True


def _flatten(values: list[Any]) -> list[Any]:
    """Elements of a list, nested lists flattened (EventBridge crushes arrays out)."""
    flat: list[Any] = []
    for value in values:
        flat.extend(_flatten(value) if isinstance(value, list) else [value])
    return flat


def _leaves(value: Any) -> list[Any]:
    """The leaf values at a field: none when it is absent, an object or holds only objects."""
    if value is _MISSING or isinstance(value, Mapping):
        return []
    if isinstance(value, list):
        return [v for v in _flatten(value) if not isinstance(v, Mapping)]
    return [value]


def _leaf_matches(conditions: list[Any], value: Any) -> bool:
    leaves = _leaves(value)
    if not leaves:  # EventBridge sees no field here: only exists: false matches
        return any(_is_exists(c) and c["exists"] is False for c in conditions)
    for condition in conditions:
        if _is_exists(condition):
            if condition["exists"] is True:
                return True
            continue
        if any(_condition_matches(condition, v) for v in leaves):
            return True
    return False


def _is_exists(condition: Any) -> bool:
    return isinstance(condition, Mapping) and "exists" in condition


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _condition_matches(condition: Any, value: Any) -> bool:
    if isinstance(condition, Mapping):
        if "prefix" in condition:
            return isinstance(value, str) and value.startswith(condition["prefix"])
        if "numeric" in condition:
            return _is_number(value) and _numeric(condition["numeric"], value)
        return False  # a matcher this bus does not know never matches
    if condition is None or isinstance(condition, bool):
        return value is condition
    if _is_number(condition):
        return _is_number(value) and bool(value == condition)
    return isinstance(value, str) and value == condition


_COMPARE = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
}


def _numeric(comparisons: list[Any], value: float) -> bool:
    pairs = zip(comparisons[::2], comparisons[1::2], strict=True)
    return all(op in _COMPARE and _COMPARE[op](value, bound) for op, bound in pairs)
