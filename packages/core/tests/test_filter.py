"""Tests for event filters and the EventBridge patterns they map to (``eventual._filter``)."""

from __future__ import annotations

import dataclasses
import enum
from datetime import UTC, datetime
from typing import Any, Literal

import attrs
import pytest

from eventual import (
    Event,
    EventFilter,
    FilterError,
    between,
    event,
    exists,
    numeric,
    prefix,
)


class Region(enum.Enum):
    EU = "eu"
    US = "us"


@attrs.frozen
class Address:
    country: str
    zip: str | None = None


@dataclasses.dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


@attrs.frozen
class Placed:
    order_id: str
    total: float
    count: int
    region: Region
    express: bool
    tags: list[str]
    address: Address
    lines: list[Line]
    note: str | None = None
    at: datetime | None = None
    kind: Literal["retail", "wholesale"] = "retail"
    extra: dict[str, int] = attrs.field(factory=dict)
    anything: Any = None


placed: Event[Placed] = event("Placed", Placed)


@pytest.mark.parametrize(
    ("conditions", "detail"),
    [
        ({"order_id": "o1"}, {"order_id": ["o1"]}),
        ({"region": ["eu", "us"]}, {"region": ["eu", "us"]}),
        ({"region": Region.US}, {"region": ["us"]}),
        ({"order_id": prefix("o-")}, {"order_id": [{"prefix": "o-"}]}),
        ({"note": exists()}, {"note": [{"exists": True}]}),
        ({"note": exists(False)}, {"note": [{"exists": False}]}),
        ({"note": None}, {"note": [None]}),
        ({"total": numeric(">", 10)}, {"total": [{"numeric": [">", 10]}]}),
        ({"count": numeric("=", 3)}, {"count": [{"numeric": ["=", 3]}]}),
        ({"total": between(1, 5.5)}, {"total": [{"numeric": [">=", 1, "<=", 5.5]}]}),
        ({"total": numeric(">", 0, "<", 1)}, {"total": [{"numeric": [">", 0, "<", 1]}]}),
        ({"express": True}, {"express": [True]}),
        ({"tags": ["a", prefix("b")]}, {"tags": ["a", {"prefix": "b"}]}),
        ({"tags": "a"}, {"tags": ["a"]}),
        ({"kind": "wholesale"}, {"kind": ["wholesale"]}),
        (
            {"at": datetime(2026, 1, 2, tzinfo=UTC)},
            {"at": ["2026-01-02T00:00:00Z"]},
        ),
        ({"at": prefix("2026-01")}, {"at": [{"prefix": "2026-01"}]}),
        ({"anything": 5}, {"anything": [5]}),
    ],
)
def test_each_condition_maps_to_its_eventbridge_pattern(
    conditions: dict[str, object], detail: dict[str, object]
) -> None:
    """Every kind of condition becomes the EventBridge pattern documented for it."""
    assert placed.where(**conditions).pattern() == {"detail-type": ["Placed"], "detail": detail}


def test_nested_fields_are_given_as_dotted_paths() -> None:
    """A mapping of dotted paths becomes nested pattern objects, arrays of records included."""
    pattern = placed.where(
        {"address.country": prefix("D"), "address.zip": exists(), "lines.sku": "book"},
        region="eu",
    ).pattern()
    assert pattern == {
        "detail-type": ["Placed"],
        "detail": {
            "address": {"country": [{"prefix": "D"}], "zip": [{"exists": True}]},
            "lines": {"sku": ["book"]},
            "region": ["eu"],
        },
    }


def test_mapping_fields_take_any_key() -> None:
    """Keys below a dict field are free; their values are checked by the value type."""
    assert placed.where({"extra.size": numeric(">", 2)}).pattern()["detail"] == {
        "extra": {"size": [{"numeric": [">", 2]}]}
    }
    with pytest.raises(FilterError, match="'x' is not a value of the field's type int"):
        placed.where({"extra.size": "x"})


def test_where_can_be_chained_and_all_conditions_hold() -> None:
    """A second where() adds conditions; repeating a field is an error."""
    both = placed.where(region="eu").where(express=True)
    assert both.conditions == {"region": ["eu"], "express": [True]}
    with pytest.raises(FilterError, match="field 'region' already has a condition"):
        both.where(region="us")


def test_an_unfiltered_event_pattern_matches_by_name() -> None:
    """An event's own pattern names it only."""
    assert placed.pattern() == {"detail-type": ["Placed"]}


def test_filters_compare_by_event_and_conditions() -> None:
    """Two filters with the same event and conditions are equal and hash alike."""
    assert placed.where(region="eu") == placed.where(region="eu")
    assert hash(placed.where(region="eu")) == hash(placed.where(region="eu"))
    assert placed.where(region="eu") != placed.where(region="us")
    assert isinstance(placed.where(region="eu"), EventFilter)


@pytest.mark.parametrize(
    ("fields", "conditions", "message"),
    [
        (None, {"nope": 1}, "Placed has no field 'nope' \\(its fields: order_id, total"),
        ({"address.nope": 1}, {}, "Address has no field 'nope'"),
        ({"order_id.x": 1}, {}, "cannot look up 'x' in str, which is not a record"),
        (None, {"total": prefix("a")}, "prefix\\(\\) needs a string field, but the field is float"),
        (None, {"order_id": numeric(">", 1)}, "numeric\\(\\) needs a number field"),
        (None, {"order_id": 5}, "5 is not a value of the field's type str"),
        (None, {"total": True}, "True is not a value of the field's type float"),
        (None, {"region": "asia"}, "'asia' is not a value of the field's type Region"),
        (None, {"kind": "other"}, "'other' is not a value"),
        (None, {"address": "x"}, "'x' is not a value of the field's type Address"),
        (None, {"address": {"country": "DE"}}, "filter on the nested fields with dotted paths"),
        (None, {"address": exists()}, "exists\\(\\) works on leaf fields only"),
        (None, {"note": [exists(), "a"]}, "exists\\(\\) cannot be combined"),
        (None, {"order_id": None}, "None never matches, the field is not optional"),
        (None, {"order_id": []}, "an empty list matches nothing"),
        (None, {"total": float("nan")}, "has no JSON form"),
        (None, {}, "where\\(\\) needs at least one condition"),
        ({"": 1}, {}, "invalid field path ''"),
        ({"a..b": 1}, {}, "invalid field path 'a..b'"),
        ({"extra.$or": 1}, {}, "'extra.\\$or' uses \\$or, EventBridge's keyword"),
    ],
)
def test_filters_that_do_not_fit_are_rejected_at_definition(
    fields: dict[str, object] | None, conditions: dict[str, object], message: str
) -> None:
    """A field not in the payload, a value of the wrong type or an inexpressible condition fail."""
    with pytest.raises(FilterError, match=message) as caught:
        placed.where(fields, **conditions)
    assert "event Placed" in str(caught.value)


def test_a_field_given_twice_is_rejected() -> None:
    """The same path in the mapping and as a keyword is a mistake, not an override."""
    with pytest.raises(FilterError, match="field 'region' is given twice"):
        placed.where({"region": "eu"}, region="us")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((">", 1e10), "outside the range EventBridge compares"),
        ((">", float("inf")), "outside the range"),
        (("~", 1), "operator must be one of"),
        ((">", "1"), "bound must be a number"),
        ((">", True), "bound must be a number"),
        (("<", 5, ">", 1), "a lower bound \\(> or >=\\) then an upper bound"),
        ((">", 5, "<", 1), "numeric range is empty"),
        (("=", 1, "<", 2), "a lower bound"),
    ],
)
def test_numeric_rejects_what_eventbridge_cannot_compare(
    args: tuple[Any, ...], message: str
) -> None:
    """Numeric bounds must be finite numbers within +/-5e9, ranges a lower then an upper bound."""
    with pytest.raises(FilterError, match=message):
        numeric(*args)


def test_helpers_check_their_arguments() -> None:
    """prefix() takes a string and exists() a bool."""
    with pytest.raises(FilterError, match="prefix\\(\\) takes a string"):
        prefix(1)  # type: ignore[arg-type]
    with pytest.raises(FilterError, match="exists\\(\\) takes True or False"):
        exists("yes")  # type: ignore[arg-type]
    assert between(1, 2) == numeric(">=", 1, "<=", 2)


def test_untyped_payloads_accept_any_scalar_condition() -> None:
    """With an Any payload the fields cannot be checked, but values must still be scalars."""
    loose = event("Loose", Any)
    assert loose.where({"a.b": 1, "c": prefix("x")}).pattern()["detail"] == {
        "a": {"b": [1]},
        "c": [{"prefix": "x"}],
    }
    with pytest.raises(FilterError, match="EventBridge matches strings, numbers"):
        loose.where(a=[[1]])
    with pytest.raises(FilterError, match=r"'a' is filtered as a value and 'a\.b' below it"):
        loose.where({"a": 1, "a.b": 2})
