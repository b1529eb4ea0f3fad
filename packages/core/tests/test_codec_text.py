"""Tests for the JSON codec: registered types, JSON text, and round-trip properties."""

from __future__ import annotations

import enum
import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventual._codec import Codec, JsonValue, decode, default_codec, encode
from eventual._errors import ValidationError

from .codec_types import (
    ORDER,
    Box,
    Item,
    Money,
    Order,
    Settings,
    encode_error,
)

# -- registering custom types ------------------------------------------------------------


def _money_codec() -> Codec:
    """A codec that knows Money as a string of cents."""
    codec = Codec()

    def parse(data: JsonValue) -> Money:
        if not isinstance(data, str) or not data.endswith("c"):
            raise ValueError(f"expected text like '12c', got {data!r}")
        return Money(int(data[:-1]))

    codec.register(Money, lambda money: f"{money.cents}c", parse)
    return codec


def test_registered_types_round_trip_inside_other_types() -> None:
    """A plugin-registered type works as a field and in containers."""
    codec = _money_codec()
    assert codec.encode([Money(5)], list[Money]) == ["5c"]
    assert codec.decode({"content": "7c"}, Box[Money]) == Box(Money(7))


def test_registered_decoder_errors_get_a_path_and_keep_their_cause() -> None:
    """An exception from a custom decoder becomes a ValidationError at the field."""
    with pytest.raises(ValidationError) as info:
        _money_codec().decode({"content": 7}, Box[Money], path="box")
    assert str(info.value) == "box.content: invalid Money: expected text like '12c', got 7"
    assert isinstance(info.value.__cause__, ValueError)


def test_registered_encoders_must_return_json() -> None:
    """A custom encoder that returns something JSON cannot hold is caught."""
    codec = Codec()
    codec.register(Money, lambda money: {"cents": (money.cents,)}, lambda data: Money(0))  # type: ignore[dict-item]
    with pytest.raises(ValidationError) as info:
        codec.encode(Money(1), path="price")
    assert info.value.path == 'price["cents"]'


def test_registration_is_per_codec() -> None:
    """Registering on one codec leaves the default codec unchanged."""
    _money_codec()
    assert "has no JSON form" in encode_error(Money(1)).problem


# -- JSON text ---------------------------------------------------------------------------


def test_dumps_writes_compact_json_in_field_order() -> None:
    """No spaces, keys in declaration order, non-ASCII kept."""
    text = default_codec.dumps(Settings(name="café", tags=["ü"]))
    assert text == '{"name":"café","retries":3,"tags":["ü"]}'


def test_loads_reads_text_and_bytes() -> None:
    """Text and UTF-8 bytes both decode."""
    assert default_codec.loads('{"sku":"a","quantity":1}', Item) == Item("a", 1)
    assert default_codec.loads('{"sku":"é","quantity":1}'.encode(), Item) == Item("é", 1)


@pytest.mark.parametrize("text", ["{", "", "[1,]", "NaN", "[Infinity]", b"\xff"])
def test_malformed_json_is_a_validation_error(text: str | bytes) -> None:
    """Text that is not JSON, including NaN and Infinity, is refused."""
    with pytest.raises(ValidationError) as info:
        default_codec.loads(text, Any, path="body")
    assert info.value.path == "body"
    assert info.value.problem.startswith("malformed JSON: ")


def test_loads_reports_field_paths() -> None:
    """Decoding errors after parsing keep the root path."""
    with pytest.raises(ValidationError) as info:
        default_codec.loads(json.dumps(ORDER), Order, path="order")
    assert info.value.path == "order.items[2].quantity"


# -- properties ----------------------------------------------------------------------------


class Status(enum.Enum):
    NEW = "new"
    SHIPPED = "shipped"
    LOST = 0


@attrs.frozen(kw_only=True)
class Line:
    sku: str
    quantity: int
    price: Decimal
    tags: frozenset[str] = frozenset()


@attrs.frozen(kw_only=True)
class Shipment:
    id: uuid.UUID
    placed_at: datetime
    status: Status
    lines: list[Line]
    note: str | None = None
    eta: timedelta | None = None
    label: bytes = b""
    size: tuple[float, float] = (0.0, 0.0)
    counts: dict[str, int] = attrs.field(factory=dict)
    kind: Literal["ground", "air"] = "ground"
    ship_on: date | None = None


_offsets = st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
_lines = st.builds(
    Line,
    sku=st.text(),
    quantity=st.integers(),
    price=st.decimals(allow_nan=False, allow_infinity=False),
    tags=st.frozensets(st.text(max_size=5), max_size=4),
)
_shipments = st.builds(
    Shipment,
    id=st.uuids(),
    placed_at=st.datetimes(timezones=st.builds(timezone, _offsets)),
    status=st.sampled_from(Status),
    lines=st.lists(_lines, max_size=4),
    note=st.none() | st.text(),
    eta=st.none() | st.timedeltas(min_value=-timedelta(days=3650), max_value=timedelta(days=3650)),
    label=st.binary(),
    size=st.tuples(
        st.floats(allow_nan=False, allow_infinity=False),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    counts=st.dictionaries(st.text(), st.integers()),
    kind=st.sampled_from(["ground", "air"]),
    ship_on=st.none() | st.dates(),
)


@given(_shipments)
def test_attrs_values_round_trip(shipment: Shipment) -> None:
    """Decoding what was encoded gives an equal value."""
    assert decode(encode(shipment, Shipment), Shipment) == shipment


@given(_shipments)
def test_attrs_values_round_trip_through_json_text(shipment: Shipment) -> None:
    """The JSON text round trip gives an equal value, and equal values give equal text."""
    text = default_codec.dumps(shipment, Shipment)
    decoded = default_codec.loads(text, Shipment)
    assert decoded == shipment
    assert default_codec.dumps(decoded, Shipment) == text


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_any_json_round_trips(data: JsonValue) -> None:
    """Plain JSON data passes through encode, dumps, loads and decode unchanged."""
    assert default_codec.loads(default_codec.dumps(data), Any) == data
    assert decode(encode(data, Any), JsonValue) == data


@attrs.frozen
class Labelled:
    labels: dict[str, str]
    name: str = ""


def test_text_utf8_cannot_hold_is_refused_naming_where() -> None:
    """Encoding or decoding a lone surrogate fails naming its field; valid Unicode passes."""
    with pytest.raises(ValidationError) as encoded:
        encode(Labelled(labels={"a": "ok", "b": "x\udc00"}), path="input")
    assert encoded.value.path == 'input.labels["b"]'
    assert "lone surrogate" in encoded.value.problem
    with pytest.raises(ValidationError) as key:
        encode({"\ud800": 1})
    assert "lone surrogate" in key.value.problem
    with pytest.raises(ValidationError) as decoded:
        decode({"labels": {}, "name": "\ud83d"}, Labelled, path="input")
    assert decoded.value.path == "input.name"
    assert encode(Labelled(labels={"emoji": "\U0001f600"})) == {
        "labels": {"emoji": "\U0001f600"},
        "name": "",
    }


def test_check_storable_bounds_depth_and_text() -> None:
    """check_storable names the first place nested past MAX_DEPTH or holding a lone surrogate."""
    from eventual.codec import MAX_DEPTH, check_storable

    check_storable([[1]] * 3 + [{"a": "é"}], "body")
    nested: JsonValue = []
    for _ in range(MAX_DEPTH):
        nested = [nested]
    with pytest.raises(ValidationError) as deep:
        check_storable({"x": nested}, "body")
    assert deep.value.path == "body.x" + "[0]" * (MAX_DEPTH - 1)
    assert f"deeper than {MAX_DEPTH}" in deep.value.problem
    with pytest.raises(ValidationError) as text:
        check_storable({"a b": ["\ud800"]}, "body")
    assert text.value.path == 'body["a b"][0]'
