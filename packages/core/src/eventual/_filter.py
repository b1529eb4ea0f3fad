"""Declarative event filters that map one-to-one onto EventBridge event patterns.

A subscription receives only the events whose payload matches its filter:
``order_placed.where(region="eu")``. The filter is data, not code, for two
reasons. On AWS each subscription is an EventBridge rule, so a filter must be
something EventBridge can evaluate; a Python predicate could not be deployed.
And the local bus routes events published by *other* processes, which do not
have the subscriber's code loaded, so it stores the pattern and evaluates that.

Filters are checked when they are written (at import time of the service), against
the event's payload type: a field that does not exist, a value of the wrong type,
or a condition EventBridge cannot express raises ``FilterError`` there, instead of
silently matching nothing in production.

Conditions, and the EventBridge pattern each one becomes:

- a value (``region="eu"``) -> ``["eu"]`` (exact match);
- a list (``region=["eu", "us"]``) -> ``["eu", "us"]`` (any of; may mix matchers);
- ``prefix("ab")`` -> ``[{"prefix": "ab"}]``;
- ``exists()`` / ``exists(False)`` -> ``[{"exists": true}]`` / ``[{"exists": false}]``;
- ``numeric(">", 10)``, ``numeric(">=", 1, "<", 5)``, ``between(1, 5)`` ->
  ``[{"numeric": [">", 10]}]``, ...;
- a dotted path in a mapping (``where({"address.country": "DE"})``) -> nested
  objects ``{"address": {"country": ["DE"]}}``.
"""

from __future__ import annotations

import datetime
import enum
import math
import typing
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Generic, TypeGuard, TypeVar

import attrs

from ._codec import decode, encode
from ._codec._containers import _record_fields
from ._codec._types import _is_literal, _is_record, _is_union, _origin
from ._errors import EventualError, ValidationError

if TYPE_CHECKING:
    from ._event import Event

__all__ = [
    "EventFilter",
    "Exists",
    "FilterError",
    "Numeric",
    "Prefix",
    "between",
    "exists",
    "numeric",
    "prefix",
]

T = TypeVar("T")

#: EventBridge compares numbers only in this range (its documented limit).
NUMERIC_LIMIT: Final = 5.0e9

_LOWER = (">", ">=")
_UPPER = ("<", "<=")
_OPERATORS = (*_LOWER, *_UPPER, "=")

# JSON kinds a declared type may take; a filter condition must fit one of them.
_STRING, _NUMBER, _BOOLEAN, _NULL, _OBJECT = "string", "number", "boolean", "null", "object"
_ALL = frozenset({_STRING, _NUMBER, _BOOLEAN, _NULL, _OBJECT})
_STRING_TYPES = (str, datetime.datetime, datetime.date, datetime.time, uuid.UUID)


class FilterError(EventualError, ValueError):
    """A filter that EventBridge cannot express, or that does not fit the payload type."""


@attrs.frozen(kw_only=True)
class Prefix:
    """Matches strings that start with ``text`` (see :func:`prefix`)."""

    text: str

    def pattern(self) -> dict[str, Any]:
        """Return the EventBridge matcher, ``{"prefix": text}``."""
        return {"prefix": self.text}


@attrs.frozen(kw_only=True)
class Exists:
    """Matches when the field is present (or, with ``present=False``, absent)."""

    present: bool = True

    def pattern(self) -> dict[str, Any]:
        """Return the EventBridge matcher, ``{"exists": present}``."""
        return {"exists": self.present}


@attrs.frozen(kw_only=True)
class Numeric:
    """Matches numbers satisfying one comparison, or a range of two (see :func:`numeric`).

    Attributes:
        comparisons: ``((">", 0), ("<=", 5))``, as EventBridge lists them.
    """

    comparisons: tuple[tuple[str, float], ...]

    def pattern(self) -> dict[str, Any]:
        """Return the EventBridge matcher, ``{"numeric": [op, value, ...]}``."""
        return {"numeric": [part for pair in self.comparisons for part in pair]}


Matcher = Prefix | Exists | Numeric


def prefix(text: str) -> Prefix:
    """Match string fields that start with ``text`` (EventBridge ``prefix``)."""
    if not isinstance(text, str):
        raise FilterError(f"prefix() takes a string, got {text!r}")
    return Prefix(text=text)


def exists(present: bool = True) -> Exists:
    """Match when the field is present in the payload (``exists(False)``: absent)."""
    if not isinstance(present, bool):
        raise FilterError(f"exists() takes True or False, got {present!r}")
    return Exists(present=present)


def numeric(op: str, value: float, op2: str | None = None, value2: float | None = None) -> Numeric:
    """Match numbers by comparison (EventBridge ``numeric``).

    ``numeric(">", 10)``, ``numeric("=", 3)``, or a range ``numeric(">", 0, "<=", 5)``
    (one lower bound and one upper bound).

    Raises:
        FilterError: An unknown operator, a bound that is not a number or lies
            outside EventBridge's range of +/-5e9, or two comparisons that are
            not a lower and an upper bound.
    """
    if op2 is None and value2 is not None:
        raise FilterError("numeric() got a second value without a second operator")
    given: list[tuple[str, object]] = [(op, value)] if op2 is None else [(op, value), (op2, value2)]
    comparisons: list[tuple[str, float]] = []
    for operator, bound in given:
        if operator not in _OPERATORS:
            raise FilterError(
                f"numeric() operator must be one of {', '.join(_OPERATORS)}, got {operator!r}"
            )
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            raise FilterError(f"numeric() bound must be a number, got {bound!r}")
        if not math.isfinite(bound) or abs(bound) > NUMERIC_LIMIT:
            raise FilterError(
                f"numeric() bound {bound!r} is outside the range EventBridge compares "
                f"(-{NUMERIC_LIMIT:g} to {NUMERIC_LIMIT:g})"
            )
        comparisons.append((operator, bound))
    if len(comparisons) == 2:
        (first, low), (second, high) = comparisons
        if first not in _LOWER or second not in _UPPER:
            raise FilterError(
                "a numeric range is a lower bound (> or >=) then an upper bound (< or <=), "
                f"got {first!r} then {second!r}"
            )
        if low >= high:
            raise FilterError(f"numeric range is empty: {first} {low} and {second} {high}")
    return Numeric(comparisons=tuple(comparisons))


def between(low: float, high: float) -> Numeric:
    """Match numbers from ``low`` to ``high``, both included.

    The same as ``numeric(">=", low, "<=", high)``.
    """
    return numeric(">=", low, "<=", high)


class EventFilter(Generic[T]):
    """An event with conditions on its payload: what ``Event.where`` returns.

    Pass it to ``@subscription`` like an event. ``pattern()`` is the EventBridge
    event pattern it stands for, which is also what the local bus evaluates.

    Attributes:
        event: The filtered event.
        conditions: Dotted field path to its EventBridge condition list, e.g.
            ``{"address.country": ["DE"]}``.
    """

    def __init__(self, event: Event[T], conditions: Mapping[str, list[Any]]) -> None:
        self.event = event
        self.conditions: dict[str, list[Any]] = dict(conditions)

    def __repr__(self) -> str:
        return f"<event {self.event.name} where {self.conditions!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventFilter):
            return NotImplemented
        return self.event is other.event and self.conditions == other.conditions

    def __hash__(self) -> int:
        return hash((id(self.event), repr(sorted(self.conditions.items()))))

    def where(
        self, fields: Mapping[str, object] | None = None, /, **more: object
    ) -> EventFilter[T]:
        """Return this filter with more conditions (all must hold)."""
        added = build_conditions(self.event, fields, more)
        for path in added:
            if path in self.conditions:
                raise FilterError(
                    f"event {self.event.name}: field {path!r} already has a condition; "
                    "put every allowed value in one list instead"
                )
        merged = {**self.conditions, **added}
        _check_paths_nest(self.event.name, merged)
        return EventFilter(self.event, merged)

    def pattern(self) -> dict[str, Any]:
        """Return the EventBridge event pattern: ``{"detail-type": [...], "detail": {...}}``."""
        pattern: dict[str, Any] = {"detail-type": [self.event.name]}
        if self.conditions:
            detail: dict[str, Any] = {}
            for path, condition in sorted(self.conditions.items()):
                *parents, leaf = path.split(".")
                node = detail
                for part in parents:
                    node = node.setdefault(part, {})
                node[leaf] = condition
            pattern["detail"] = detail
        return pattern


def build_conditions(
    event: Event[Any], fields: Mapping[str, object] | None, more: Mapping[str, object]
) -> dict[str, list[Any]]:
    """Check conditions against the event's payload type; return them as EventBridge lists.

    Raises:
        FilterError: A field path or condition does not fit (the message says which).
    """
    if fields is not None and not isinstance(fields, Mapping):
        raise FilterError(
            f"event {event.name}: where() takes a mapping of field paths, got {fields!r}"
        )
    given: dict[str, object] = {}
    for source in (fields or {}), more:
        for path, condition in source.items():
            if not isinstance(path, str) or not path or "" in path.split("."):
                raise FilterError(f"event {event.name}: invalid field path {path!r}")
            if "$or" in path.split("."):
                raise FilterError(
                    f"event {event.name}: field path {path!r} uses $or, EventBridge's keyword "
                    "for alternatives, which a pattern cannot name as a field"
                )
            if path in given:
                raise FilterError(f"event {event.name}: field {path!r} is given twice")
            given[path] = condition
    if not given:
        raise FilterError(f"event {event.name}: where() needs at least one condition")
    conditions = {path: _condition(event, path, value) for path, value in given.items()}
    _check_paths_nest(event.name, conditions)
    return conditions


def _check_paths_nest(name: str, conditions: Mapping[str, object]) -> None:
    # A pattern cannot hold both a leaf and an object at the same key.
    for path in conditions:
        for other in conditions:
            if other.startswith(path + "."):
                raise FilterError(
                    f"event {name}: {path!r} is filtered as a value and {other!r} below it; "
                    "EventBridge matches leaf fields only"
                )


def _condition(event: Event[Any], path: str, value: object) -> list[Any]:
    where = f"event {event.name}, field {path!r}"
    field_type = _field_type(event.payload_type, path, where)
    kinds = _kinds(field_type)
    values = list(value) if _is_list(value) else [value]
    if not values:
        raise FilterError(f"{where}: an empty list matches nothing; give at least one value")
    items: list[Any] = []
    for item in values:
        if isinstance(item, Exists):
            if len(values) > 1:
                raise FilterError(f"{where}: exists() cannot be combined with other values")
            if kinds == {_OBJECT}:
                raise FilterError(
                    f"{where}: exists() works on leaf fields only (EventBridge), and this "
                    "field is a record; test one of its fields with a dotted path"
                )
            items.append(item.pattern())
        elif isinstance(item, Prefix):
            _need(kinds, _STRING, where, "prefix()", field_type)
            items.append(item.pattern())
        elif isinstance(item, Numeric):
            _need(kinds, _NUMBER, where, "numeric()", field_type)
            items.append(item.pattern())
        else:
            items.append(_exact(item, field_type, kinds, where))
    return items


def _need(kinds: frozenset[str], kind: str, where: str, what: str, field_type: Any) -> None:
    if kind not in kinds:
        raise FilterError(
            f"{where}: {what} needs a {kind} field, but the field is {_show_type(field_type)}"
        )


def _exact(value: object, field_type: Any, kinds: frozenset[str], where: str) -> Any:
    if isinstance(value, Mapping) or _is_list(value):
        raise FilterError(
            f"{where}: EventBridge matches strings, numbers, booleans and null, not "
            f"{value!r}; filter on the nested fields with dotted paths instead"
        )
    if value is None:
        if _NULL not in kinds:
            raise FilterError(f"{where}: None never matches, the field is not optional")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError(f"{where}: {value!r} has no JSON form")
    element = _element_type(field_type)
    data: Any
    try:
        data = encode(value, element)
    except ValidationError:
        # Not a Python value of the type; a JSON value the type decodes (an enum's
        # value rather than its member) is fine too.
        data = value
    try:
        # Encoding does not check everything (a Literal's members): decoding does.
        decode(data, element)
    except (ValidationError, TypeError):
        raise FilterError(
            f"{where}: {value!r} is not a value of the field's type {_show_type(field_type)}"
        ) from None
    if isinstance(data, dict | list):
        raise FilterError(
            f"{where}: {value!r} encodes to {data!r}; EventBridge matches only strings, "
            "numbers, booleans and null"
        )
    return data


def _is_list(value: object) -> TypeGuard[Collection[object]]:
    return isinstance(value, Sequence | set | frozenset) and not isinstance(
        value, str | bytes | bytearray
    )


def _field_type(payload_type: Any, path: str, where: str) -> Any:
    current = payload_type
    for part in path.split("."):
        current = _element_type(current)
        if _is_any(current):
            return Any
        if _is_record(current):
            fields = dict(_record_fields(current))
            if part not in fields:
                raise FilterError(
                    f"{where}: {_show_type(current)} has no field {part!r} "
                    f"(its fields: {', '.join(fields) or 'none'})"
                )
            current = fields[part]
        elif _origin(current) in (dict, Mapping) or current is dict:
            args = typing.get_args(current)
            current = args[1] if len(args) == 2 else Any
        else:
            raise FilterError(
                f"{where}: cannot look up {part!r} in {_show_type(current)}, which is not a record"
            )
    return current


def _element_type(type_: Any) -> Any:
    """The type EventBridge compares: arrays match by their elements, ``None`` dropped."""
    if _is_union(type_):
        members = [m for m in typing.get_args(type_) if m is not type(None)]
        if len(members) == 1:
            return _element_type(members[0])
        return type_
    origin = _origin(type_)
    if origin in (list, tuple, set, frozenset, Sequence) and type_ not in (str, bytes):
        args = [a for a in typing.get_args(type_) if a is not Ellipsis]
        return _element_type(args[0]) if len(args) == 1 else Any
    return type_


def _is_any(type_: Any) -> bool:
    return type_ is Any or type_ is object or isinstance(type_, TypeVar)


def _kinds(type_: Any) -> frozenset[str]:
    """The JSON kinds a value of the declared type may have (arrays by their elements)."""
    if _is_any(type_):
        return _ALL
    if _is_union(type_):
        return frozenset().union(*(_kinds(m) for m in typing.get_args(type_)))
    if _is_literal(type_):
        return frozenset().union(*(_kinds(type(v)) for v in typing.get_args(type_)))
    element = _element_type(type_)
    if element is not type_:
        return _kinds(element)
    if type_ is type(None) or type_ is None:
        return frozenset({_NULL})
    if isinstance(type_, type):
        if issubclass(type_, enum.Enum):
            return frozenset().union(*(_kinds(type(m.value)) for m in type_))
        if issubclass(type_, bool):
            return frozenset({_BOOLEAN})
        if issubclass(type_, int | float):
            return frozenset({_NUMBER})
        if issubclass(type_, _STRING_TYPES):
            return frozenset({_STRING})
    if _is_record(type_) or _origin(type_) in (dict, Mapping):
        return frozenset({_OBJECT})
    return _ALL  # a type registered with the codec: its JSON form is not known here


def _show_type(type_: Any) -> str:
    return getattr(type_, "__name__", None) or repr(type_)
