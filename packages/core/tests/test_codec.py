"""Tests for the JSON codec: error paths, primitives, classes, enums, dates and times."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from eventual._codec import decode, encode

from .codec_types import (
    NOON,
    ORDER,
    Box,
    Colour,
    Counter,
    Item,
    Order,
    Permission,
    Point,
    Priority,
    Reading,
    Result,
    Settings,
    Size,
    Tree,
    decode_error,
    encode_error,
)

# -- field paths in decode errors -------------------------------------------------------


def test_a_wrong_field_type_is_named_by_its_full_path() -> None:
    """A bad quantity in the third item is reported at order.items[2].quantity."""
    error = decode_error(ORDER, Order, "order")
    assert (error.path, error.problem) == ("order.items[2].quantity", 'expected int, got "x"')
    assert str(error) == 'order.items[2].quantity: expected int, got "x"'


def test_a_missing_required_field_is_named_on_its_parent() -> None:
    """A missing field is reported on the object that lacks it."""
    error = decode_error({"id": "o1", "items": [{"sku": "a"}]}, Order, "order")
    assert str(error) == 'order.items[0]: missing required field "quantity"'


def test_an_unexpected_field_is_rejected() -> None:
    """Extra keys are refused rather than dropped."""
    error = decode_error({"id": "o1", "items": [], "colour": "red"}, Order, "order")
    assert str(error) == 'order: unexpected field "colour"'


def test_several_unexpected_fields_are_all_named() -> None:
    """Every extra key appears in the message, sorted."""
    error = decode_error({"id": "o1", "items": [], "b": 1, "a": 2}, Order, "order")
    assert error.problem == 'unexpected fields "a", "b"'


def test_a_wrong_container_is_reported_with_the_value() -> None:
    """An object where a list belongs is shown in JSON notation."""
    error = decode_error({"id": "o1", "items": {"a": 1}}, Order, "order")
    assert str(error) == 'order.items: expected list, got {"a": 1}'


def test_top_level_errors_have_an_empty_path() -> None:
    """Without a root path the message is just the problem."""
    error = decode_error("x", int)
    assert (error.path, str(error)) == ("", 'expected int, got "x"')


def test_a_path_without_a_root_starts_at_the_field() -> None:
    """Nested errors with no root path start with the field name, not a dot."""
    assert decode_error(ORDER, Order).path == "items[2].quantity"


def test_an_object_where_a_class_belongs_names_the_class() -> None:
    """A list given for an attrs class is reported with the class name."""
    error = decode_error({"id": "o1", "items": [[1]]}, Order, "order")
    assert str(error) == "order.items[0]: expected Item, got [1]"


def test_mapping_values_are_named_by_their_quoted_key() -> None:
    """A bad value in a dict is located with the key in JSON quotes."""
    error = decode_error({"a": 1, "b c": "x"}, dict[str, int], "stock")
    assert str(error) == 'stock["b c"]: expected int, got "x"'


def test_long_values_are_shortened_in_messages() -> None:
    """A huge offending value is cut to about 60 characters."""
    error = decode_error(list(range(1000)), str)
    assert error.problem.startswith("expected str, got [0, 1, 2")
    assert error.problem.endswith("...")
    assert len(error.problem) < 90


def test_attrs_validators_errors_are_reported_on_the_object() -> None:
    """A validator that refuses a value gives a ValidationError for the object."""
    error = decode_error({"value": -1}, Counter, "counter")
    assert error.path == "counter"
    assert error.problem.startswith("invalid Counter: ")
    assert isinstance(error.__cause__, ValueError)


# -- primitives ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "type_", "problem"),
    [
        ("1", int, 'expected int, got "1"'),
        (True, int, "expected int, got true"),
        (1.0, int, "expected int, got 1.0"),
        (None, int, "expected int, got null"),
        ("1.5", float, 'expected float, got "1.5"'),
        (False, float, "expected float, got false"),
        (1, str, "expected str, got 1"),
        (1, bool, "expected bool, got 1"),
        ("true", bool, 'expected bool, got "true"'),
        (0, type(None), "expected None, got 0"),
    ],
)
def test_primitives_are_strict(data: object, type_: Any, problem: str) -> None:
    """No coercion between JSON types, and bool is not a number."""
    assert decode_error(data, type_).problem == problem


@pytest.mark.parametrize(
    ("data", "type_"),
    [(1, int), (-(2**70), int), (1.5, float), ("é", str), (True, bool), (None, type(None))],
)
def test_primitives_decode_to_themselves(data: object, type_: Any) -> None:
    """Valid primitives come back unchanged and with their exact type."""
    decoded = decode(data, type_)
    assert decoded == data
    assert type(decoded) is type_


def test_an_int_is_a_valid_float() -> None:
    """An integral JSON number decodes to a Python float."""
    decoded = decode(2, float)
    assert decoded == 2.0
    assert type(decoded) is float


def test_none_as_a_type_means_null() -> None:
    """``None`` as the declared type accepts only null."""
    assert decode(None, None) is None
    assert decode_error(1, None).problem == "expected None, got 1"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_cannot_be_encoded(value: float) -> None:
    """NaN and infinities have no JSON form."""
    error = encode_error(value)
    assert "JSON has no NaN or infinity" in error.problem


def test_non_finite_floats_cannot_be_decoded() -> None:
    """A NaN handed to decode directly is refused too."""
    assert decode_error(math.nan, float).problem == "expected finite float, got NaN"


def test_encoding_checks_the_declared_primitive_type() -> None:
    """A value that does not match its declared type is refused before it is stored."""
    assert encode_error("x", int).problem == 'expected int, got "x"'
    assert encode_error(True, int).problem == "expected int, got true"
    assert encode_error(1, str).problem == "expected str, got 1"


def test_an_int_declared_float_is_encoded_as_a_float() -> None:
    """Encoding by the declared type gives the same JSON whatever Python number was used."""
    assert encode(2, float) == 2.0
    assert type(encode(2, float)) is float


# -- attrs classes and dataclasses ------------------------------------------------------


def test_attrs_classes_round_trip() -> None:
    """A nested frozen attrs value encodes to plain dicts and decodes back equal."""
    order = Order("o1", [Item("a", 1), Item("b", 2)])
    data = encode(order, Order)
    assert data == {"id": "o1", "items": [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": 2}]}
    assert decode(data, Order) == order


def test_kw_only_classes_fill_defaults() -> None:
    """Fields with defaults may be left out."""
    assert decode({"name": "n"}, Settings) == Settings(name="n", retries=3, tags=[])
    assert decode({"name": "n", "retries": 5}, Settings).retries == 5


def test_dataclasses_round_trip() -> None:
    """Dataclasses behave like attrs classes, defaults included."""
    assert encode(Point(1.0, 2.5)) == {"x": 1.0, "y": 2.5, "label": ""}
    assert decode({"x": 1, "y": 2.5}, Point) == Point(1.0, 2.5)
    assert str(decode_error({"x": 1, "y": "a"}, Point, "p")) == 'p.y: expected float, got "a"'


def test_recursive_classes_round_trip() -> None:
    """A class that contains a list of itself works."""
    tree = Tree("root", [Tree("a"), Tree("b", [Tree("c")])])
    assert decode(encode(tree), Tree) == tree
    data = {"label": "r", "children": [{"label": "a", "children": [{"label": 1}]}]}
    assert decode_error(data, Tree).path == "children[0].children[0].label"


def test_generic_classes_use_their_type_arguments() -> None:
    """``Box[int]`` checks its content as an int."""
    assert decode({"content": 3}, Box[int]) == Box(3)
    assert decode_error({"content": "3"}, Box[int], "box").path == "box.content"
    assert encode(Box(NOON), Box[datetime]) == {"content": "2026-01-01T12:00:00Z"}


def test_init_false_fields_are_not_part_of_the_json() -> None:
    """Fields the constructor does not take are neither written nor accepted."""
    assert encode(Reading(1.5)) == {"value": 1.5}
    assert str(encode_error(Reading(math.nan), path="r")).startswith("r.value: cannot encode nan")
    assert (
        decode_error({"value": 1.5, "cache": None}, Reading).problem == 'unexpected field "cache"'
    )


def test_encoding_the_wrong_class_names_the_expected_one() -> None:
    """A value of another class where an attrs class is declared is refused."""
    error = encode_error({"sku": "a", "quantity": 1}, Item, "item")
    assert (error.path, error.problem) == ("item", 'expected Item, got {"sku": "a", "quantity": 1}')


# -- enums --------------------------------------------------------------------------------


def test_enums_are_encoded_by_value() -> None:
    """Members become their values, whatever the enum flavour."""
    assert [encode(Colour.RED), encode(Priority.HIGH), encode(Size.LARGE)] == ["red", 2, "l"]
    assert type(encode(Size.LARGE)) is str
    assert type(encode(Priority.HIGH)) is int


def test_enums_are_decoded_from_values() -> None:
    """Values become members, for plain, int and str enums and flags."""
    assert decode("green", Colour) is Colour.GREEN
    assert decode(1, Priority) is Priority.LOW
    assert decode("s", Size) is Size.SMALL
    assert decode(3, Permission) == Permission.READ | Permission.WRITE


def test_an_unknown_enum_value_lists_the_choices() -> None:
    """The message says which values are allowed."""
    assert (
        decode_error("blue", Colour).problem
        == 'expected Colour (one of "red", "green"), got "blue"'
    )


def test_enum_values_keep_their_json_type() -> None:
    """``true`` is not the IntEnum member 1 and ``"1"`` is not either."""
    assert decode_error(True, Priority).problem == "expected Priority (one of 1, 2), got true"
    assert decode_error("1", Priority).problem == 'expected Priority (one of 1, 2), got "1"'


# -- datetimes and other text forms ----------------------------------------------------


def test_utc_datetimes_are_written_with_z() -> None:
    """UTC uses the Z suffix, other offsets keep theirs."""
    assert encode(NOON) == "2026-01-01T12:00:00Z"
    plus_two = datetime(2026, 1, 1, 14, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert encode(plus_two) == "2026-01-01T14:00:00.000005+02:00"


def test_datetimes_are_read_with_z_or_an_offset() -> None:
    """Both spellings of UTC decode to the same instant, timezone-aware."""
    for text in ("2026-01-01T12:00:00Z", "2026-01-01T12:00:00+00:00", "2026-01-01T13:00:00+01:00"):
        decoded = decode(text, datetime)
        assert decoded == NOON
        assert decoded.utcoffset() is not None


def test_naive_datetimes_cannot_be_encoded() -> None:
    """A naive datetime is an error naming the field."""
    error = encode_error(Result(datetime(2026, 1, 1)), Result, "result")
    assert str(error) == "result.when: naive datetime; use a timezone-aware datetime"


def test_naive_datetimes_cannot_be_decoded() -> None:
    """Text without an offset is refused, naming the field."""
    error = decode_error({"when": "2026-01-01T12:00:00"}, Result, "result")
    assert error.path == "result.when"
    assert error.problem.startswith("expected timezone-aware datetime")


@pytest.mark.parametrize("data", ["tomorrow", 1767268800, "2026-13-01T00:00:00Z"])
def test_datetimes_must_be_iso_text(data: object) -> None:
    """Numbers and free text are not datetimes."""
    assert decode_error(data, datetime).problem.startswith("expected ISO 8601 datetime, got ")


def test_dates_round_trip_as_iso_text() -> None:
    """A date is YYYY-MM-DD and a datetime is not a date."""
    assert encode(date(2026, 2, 3)) == "2026-02-03"
    assert decode("2026-02-03", date) == date(2026, 2, 3)
    assert decode_error("2026-02-03T00:00:00Z", date).problem.startswith("expected ISO 8601 date")
    assert encode_error(NOON, date).problem.startswith("expected date, got datetime")


def test_timedeltas_are_float_seconds() -> None:
    """Durations are seconds as a number, read from ints or floats."""
    assert encode(timedelta(minutes=1, microseconds=500)) == 60.0005
    assert decode(90, timedelta) == timedelta(seconds=90)
    assert decode(0.25, timedelta) == timedelta(milliseconds=250)
    assert decode_error("90", timedelta).problem == 'expected duration in seconds, got "90"'
    assert decode_error(True, timedelta).problem == "expected duration in seconds, got true"
    assert decode_error(1e20, timedelta).problem.startswith("duration out of range")


def test_uuids_are_canonical_text() -> None:
    """A UUID is its hyphenated text."""
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert encode(value) == "12345678-1234-5678-1234-567812345678"
    assert decode("12345678-1234-5678-1234-567812345678", uuid.UUID) == value
    assert decode_error("nope", uuid.UUID).problem == 'expected UUID, got "nope"'


def test_bytes_are_base64() -> None:
    """Bytes are standard base64 text, validated on the way in."""
    assert encode(b"\x00\xffhi") == "AP9oaQ=="
    assert decode("AP9oaQ==", bytes) == b"\x00\xffhi"
    assert decode_error("not base64!", bytes).problem == 'expected base64 text, got "not base64!"'


def test_decimals_are_exact_text() -> None:
    """Decimals keep every digit, as text, and NaN is refused both ways."""
    assert encode(Decimal("10.50")) == "10.50"
    assert decode("10.50", Decimal) == Decimal("10.50")
    assert str(decode("-1.5E+3", Decimal)) == "-1.5E+3"
    assert decode_error(10.5, Decimal).problem == "expected decimal number as text, got 10.5"
    assert decode_error("NaN", Decimal).problem == 'expected decimal number as text, got "NaN"'
    assert "only finite decimals" in encode_error(Decimal("NaN")).problem
