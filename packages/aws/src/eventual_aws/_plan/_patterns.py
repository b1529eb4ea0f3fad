"""A subscription's EventBridge pattern: joined from its filters and checked.

EventBridge refuses a rule whose pattern is malformed or longer than 2,048
characters (the default quota; it can be raised to 4,096), and it would refuse it
at deploy time, far from the definition. The plan checks first and names the
subscription.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from ._names import PlanError

__all__ = ["PATTERN_LIMIT", "rule_pattern"]

PATTERN_LIMIT: Final = 2048
"""EventBridge's default quota on an event pattern's length, in characters."""

_MATCHERS: Final = frozenset(
    {
        "prefix",
        "suffix",
        "anything-but",
        "numeric",
        "exists",
        "cidr",
        "equals-ignore-case",
        "wildcard",
    }
)


def _check(node: object, where: str) -> None:
    if not isinstance(node, dict) or not node:
        raise PlanError(f"{where}: expected a non-empty object, got {node!r}")
    for key, value in node.items():
        if not isinstance(key, str) or not key:
            raise PlanError(f"{where}: a field name must be a non-empty string, got {key!r}")
        inner = f"{where}.{key}"
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise PlanError(f"{inner}: $or takes a list of at least two patterns")
            for index, item in enumerate(value):
                _check(item, f"{inner}[{index}]")
        elif isinstance(value, dict):
            _check(value, inner)
        elif isinstance(value, list) and value:
            for item in value:
                _check_leaf(item, inner)
        else:
            raise PlanError(
                f"{inner}: a pattern's values are non-empty lists or objects, got {value!r}"
            )


def _check_leaf(item: object, where: str) -> None:
    if item is None or isinstance(item, str | int | float | bool):
        return
    if isinstance(item, dict) and len(item) == 1 and next(iter(item)) in _MATCHERS:
        return
    raise PlanError(f"{where}: {item!r} is neither a value nor an EventBridge matcher")


def rule_pattern(patterns: Sequence[dict[str, Any]], *, label: str) -> dict[str, Any]:
    """Return the one pattern of a subscription's rule.

    Patterns that only name events become one ``detail-type`` list; otherwise
    several patterns are joined with ``$or``.

    Args:
        patterns: The subscription's patterns (from the manifest).
        label: How to name the subscription in errors.

    Raises:
        PlanError: There is no pattern, one is malformed, or the result is longer
            than EventBridge accepts.
    """
    if not patterns:
        raise PlanError(f"{label} has no event pattern; subscribe it to at least one event")
    for index, pattern in enumerate(patterns):
        _check(pattern, f"{label}: pattern {index}")
    if len(patterns) == 1:
        joined = patterns[0]
    elif all(set(p) == {"detail-type"} for p in patterns):
        names = sorted({name for p in patterns for name in p["detail-type"]})
        joined = {"detail-type": names}
    else:
        joined = {"$or": list(patterns)}
    text = json.dumps(joined, separators=(",", ":"))
    if len(text) > PATTERN_LIMIT:
        raise PlanError(
            f"{label}: its EventBridge pattern is {len(text)} characters, more than the "
            f"{PATTERN_LIMIT} EventBridge accepts; subscribe with fewer or shorter filters, "
            "or split the subscription"
        )
    return joined
