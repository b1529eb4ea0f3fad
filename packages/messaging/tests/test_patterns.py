"""EventBridge pattern matching (``eventual_messaging._patterns``), and filters round-trip."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from eventual import between, event, exists, numeric, prefix
from eventual.spi import EventEnvelope
from eventual_messaging import matches
from eventual_messaging._patterns import event_document, matches_envelope


def doc(detail: Any, name: str = "Placed") -> dict[str, Any]:
    return {"detail-type": name, "source": "orders", "detail": detail}


@pytest.mark.parametrize(
    ("pattern", "detail", "expected"),
    [
        ({"region": ["eu"]}, {"region": "eu"}, True),
        ({"region": ["eu"]}, {"region": "us"}, False),
        ({"region": ["eu", "us"]}, {"region": "us"}, True),
        ({"region": ["eu"]}, {}, False),
        ({"n": [5]}, {"n": 5.0}, True),
        ({"n": [5]}, {"n": "5"}, False),
        ({"flag": [True]}, {"flag": True}, True),
        ({"flag": [True]}, {"flag": 1}, False),
        ({"n": [1]}, {"n": True}, False),
        ({"note": [None]}, {"note": None}, True),
        ({"note": [None]}, {}, False),
        ({"note": [""]}, {"note": None}, False),
        ({"id": [{"prefix": "o-"}]}, {"id": "o-1"}, True),
        ({"id": [{"prefix": "o-"}]}, {"id": "x-1"}, False),
        ({"id": [{"prefix": "1"}]}, {"id": 12}, False),
        ({"note": [{"exists": True}]}, {"note": "x"}, True),
        ({"note": [{"exists": True}]}, {}, False),
        ({"note": [{"exists": False}]}, {}, True),
        ({"note": [{"exists": False}]}, {"note": "x"}, False),
        ({"address": [{"exists": True}]}, {"address": {"c": "DE"}}, False),
        ({"n": [{"numeric": [">", 10]}]}, {"n": 11}, True),
        ({"n": [{"numeric": [">", 10]}]}, {"n": 10}, False),
        ({"n": [{"numeric": [">=", 1, "<=", 5]}]}, {"n": 5}, True),
        ({"n": [{"numeric": [">=", 1, "<=", 5]}]}, {"n": 5.5}, False),
        ({"n": [{"numeric": ["=", 3]}]}, {"n": 3.0}, True),
        ({"n": [{"numeric": [">", 0]}]}, {"n": "7"}, False),
        ({"n": [{"numeric": [">", 0]}]}, {"n": True}, False),
        ({"tags": ["b"]}, {"tags": ["a", "b"]}, True),
        ({"tags": ["c"]}, {"tags": ["a", "b"]}, False),
        ({"tags": ["c"]}, {"tags": []}, False),
        ({"tags": [{"prefix": "x"}, "a"]}, {"tags": ["z", "a"]}, True),
        ({"address": {"country": ["DE"]}}, {"address": {"country": "DE"}}, True),
        ({"address": {"country": ["DE"]}}, {"address": {"country": "FR"}}, False),
        ({"address": {"country": ["DE"]}}, {"address": "DE"}, False),
        ({"address": {"country": ["DE"]}}, {}, False),
        (
            {"lines": {"sku": ["book"], "qty": [1]}},
            {"lines": [{"sku": "book", "qty": 2}, {"sku": "pen", "qty": 1}]},
            False,  # both conditions must hold in one element
        ),
        (
            {"lines": {"sku": ["book"], "qty": [1]}},
            {"lines": [{"sku": "pen", "qty": 2}, {"sku": "book", "qty": 1}]},
            True,
        ),
        ({"region": ["eu"], "n": [1]}, {"region": "eu", "n": 2}, False),
        ({"region": ["eu"]}, "eu", False),
        # exists applies to leaves: an object, an empty list or a list of objects
        # has no value at that field, so EventBridge counts the field as absent.
        ({"note": [{"exists": False}]}, {"note": {"text": "x"}}, True),
        ({"tags": [{"exists": False}]}, {"tags": []}, True),
        ({"tags": [{"exists": True}]}, {"tags": []}, False),
        ({"tags": [{"exists": False}]}, {"tags": [{"a": 1}]}, True),
        ({"tags": [{"exists": False}]}, {"tags": [None]}, False),
        ({"address": {"country": [{"exists": False}]}}, {}, True),
        ({"address": {"country": [{"exists": False}]}}, {"address": None}, True),
        ({"address": {"country": [{"exists": False}]}}, {"address": []}, True),
        ({"address": {"country": [{"exists": True}]}}, {"address": None}, False),
        ({"address": {"country": ["DE"]}}, {"address": []}, False),
        ({"tags": ["b"]}, {"tags": [["a"], ["b"]]}, True),  # nested arrays are flattened
        ({"x": [{"suffix": "a"}]}, {"x": "a"}, False),
    ],
)
def test_patterns_match_as_eventbridge_does(
    pattern: dict[str, Any], detail: Any, expected: bool
) -> None:
    """Each condition follows EventBridge's documented matching."""
    assert matches({"detail-type": ["Placed"], "detail": pattern}, doc(detail)) is expected


def test_the_event_name_is_matched_as_detail_type() -> None:
    """A pattern selects its event by name; another name never matches."""
    assert matches({"detail-type": ["Placed"]}, doc({}))
    assert not matches({"detail-type": ["Other"]}, doc({}))
    assert matches({"detail-type": ["Other", "Placed"]}, doc({}))


@attrs.frozen
class Address:
    country: str


@attrs.frozen
class Placed:
    order_id: str
    total: float
    address: Address
    note: str | None = None


placed = event("Placed", Placed)


@pytest.mark.parametrize(
    ("filter_", "payload", "expected"),
    [
        (placed.where(order_id="o1"), Placed("o1", 1, Address("DE")), True),
        (placed.where(order_id=["o2", "o3"]), Placed("o1", 1, Address("DE")), False),
        (placed.where(order_id=prefix("o")), Placed("o1", 1, Address("DE")), True),
        (placed.where(total=between(1, 2)), Placed("o1", 2, Address("DE")), True),
        (placed.where(total=numeric(">", 2)), Placed("o1", 2, Address("DE")), False),
        (placed.where({"address.country": "DE"}), Placed("o1", 1, Address("DE")), True),
        (placed.where(note=exists()), Placed("o1", 1, Address("DE")), True),  # null is present
        (placed.where(note=None), Placed("o1", 1, Address("DE"), "n"), False),
    ],
)
def test_filters_match_the_payloads_they_describe(
    filter_: Any, payload: Placed, expected: bool
) -> None:
    """A filter's pattern, evaluated by the bus, selects the published payloads it names."""
    envelope = EventEnvelope(
        id="1",
        source="orders",
        name="Placed",
        time=datetime(2026, 1, 1, tzinfo=UTC),
        payload=placed.encode_payload(payload),
    )
    assert matches_envelope(filter_.pattern(), envelope) is expected
    assert event_document(envelope)["detail-type"] == "Placed"
