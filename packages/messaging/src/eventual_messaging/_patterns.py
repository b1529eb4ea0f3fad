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
  numbers (not booleans) satisfying every comparison; ``{"exists": true}`` a key
  that is present with a value that is not an object, ``{"exists": false}`` an
  absent key.
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
        return any(matches(pattern, element) for element in document)
    if not isinstance(document, Mapping):
        return False
    for key, expected in pattern.items():
        value = document.get(key, _MISSING)
        if isinstance(expected, Mapping):
            if value is _MISSING or not matches(expected, value):
                return False
        elif not _leaf_matches(expected, value):
            return False
    return True


def _leaf_matches(conditions: list[Any], value: Any) -> bool:
    if value is _MISSING:
        return any(_is_exists(c) and c["exists"] is False for c in conditions)
    if isinstance(value, Mapping):
        return False  # matchers apply to leaves only
    values = value if isinstance(value, list) else [value]
    for condition in conditions:
        if _is_exists(condition):
            if condition["exists"] is True:
                return True
            continue
        if any(_condition_matches(condition, v) for v in values):
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
