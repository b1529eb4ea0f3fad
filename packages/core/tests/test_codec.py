"""Tests for the JSON codec: supported types, strictness, error paths and round trips."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Generic, Literal, NewType, TypeVar, assert_type

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventual._codec import Codec, JsonValue, decode, default_codec, encode
from eventual._errors import ValidationError

T = TypeVar("T")
NOON = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Size(enum.StrEnum):
    SMALL = "s"
    LARGE = "l"


class Permission(enum.Flag):
    READ = 1
    WRITE = 2


@attrs.frozen
class Item:
    sku: str
    quantity: int


@attrs.frozen
class Order:
    id: str
    items: list[Item]


@attrs.frozen(kw_only=True)
class Settings:
    name: str
    retries: int = 3
    tags: list[str] = attrs.field(factory=list)


@attrs.define
class Counter:
    value: int = attrs.field(validator=attrs.validators.ge(0))


@attrs.frozen
class Result:
    when: datetime


@attrs.define
class Reading:
    value: float
    cache: object = attrs.field(init=False, factory=object)


@attrs.frozen
class Cat:
    name: str
    lives: int


@attrs.frozen
class Dog:
    name: str
    good: bool


@attrs.frozen
class Tree:
    label: str
    children: list[Tree] = attrs.field(factory=list)


@attrs.frozen
class Box(Generic[T]):
    content: T


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str = ""


class Money:
    """A type the codec does not know until it is registered."""

    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and other.cents == self.cents

    def __hash__(self) -> int:
        return hash(self.cents)


UserId = NewType("UserId", str)


def _error(data: object, type_: Any, path: str = "") -> ValidationError:
    """Decode data that must fail and return the error."""
    with pytest.raises(ValidationError) as info:
        decode(data, type_, path=path)
    return info.value


def _encode_error(value: object, type_: Any = None, path: str = "") -> ValidationError:
    """Encode a value that must fail and return the error."""
    with pytest.raises(ValidationError) as info:
        encode(value, type_, path=path)
    return info.value


# -- field paths in decode errors -------------------------------------------------------

ORDER = {
    "id": "o1",
    "items": [
        {"sku": "a", "quantity": 1},
        {"sku": "b", "quantity": 1},
        {"sku": "c", "quantity": "x"},
    ],
}


def test_a_wrong_field_type_is_named_by_its_full_path() -> None:
    """A bad quantity in the third item is reported at order.items[2].quantity."""
    error = _error(ORDER, Order, "order")
    assert (error.path, error.problem) == ("order.items[2].quantity", 'expected int, got "x"')
    assert str(error) == 'order.items[2].quantity: expected int, got "x"'


def test_a_missing_required_field_is_named_on_its_parent() -> None:
    """A missing field is reported on the object that lacks it."""
    error = _error({"id": "o1", "items": [{"sku": "a"}]}, Order, "order")
    assert str(error) == 'order.items[0]: missing required field "quantity"'


def test_an_unexpected_field_is_rejected() -> None:
    """Extra keys are refused rather than dropped."""
    error = _error({"id": "o1", "items": [], "colour": "red"}, Order, "order")
    assert str(error) == 'order: unexpected field "colour"'


def test_several_unexpected_fields_are_all_named() -> None:
    """Every extra key appears in the message, sorted."""
    error = _error({"id": "o1", "items": [], "b": 1, "a": 2}, Order, "order")
    assert error.problem == 'unexpected fields "a", "b"'


def test_a_wrong_container_is_reported_with_the_value() -> None:
    """An object where a list belongs is shown in JSON notation."""
    error = _error({"id": "o1", "items": {"a": 1}}, Order, "order")
    assert str(error) == 'order.items: expected list, got {"a": 1}'


def test_top_level_errors_have_an_empty_path() -> None:
    """Without a root path the message is just the problem."""
    error = _error("x", int)
    assert (error.path, str(error)) == ("", 'expected int, got "x"')


def test_a_path_without_a_root_starts_at_the_field() -> None:
    """Nested errors with no root path start with the field name, not a dot."""
    assert _error(ORDER, Order).path == "items[2].quantity"


def test_an_object_where_a_class_belongs_names_the_class() -> None:
    """A list given for an attrs class is reported with the class name."""
    error = _error({"id": "o1", "items": [[1]]}, Order, "order")
    assert str(error) == "order.items[0]: expected Item, got [1]"


def test_mapping_values_are_named_by_their_quoted_key() -> None:
    """A bad value in a dict is located with the key in JSON quotes."""
    error = _error({"a": 1, "b c": "x"}, dict[str, int], "stock")
    assert str(error) == 'stock["b c"]: expected int, got "x"'


def test_long_values_are_shortened_in_messages() -> None:
    """A huge offending value is cut to about 60 characters."""
    error = _error(list(range(1000)), str)
    assert error.problem.startswith("expected str, got [0, 1, 2")
    assert error.problem.endswith("...")
    assert len(error.problem) < 90


def test_attrs_validators_errors_are_reported_on_the_object() -> None:
    """A validator that refuses a value gives a ValidationError for the object."""
    error = _error({"value": -1}, Counter, "counter")
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
    assert _error(data, type_).problem == problem


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
    assert _error(1, None).problem == "expected None, got 1"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_cannot_be_encoded(value: float) -> None:
    """NaN and infinities have no JSON form."""
    error = _encode_error(value)
    assert "JSON has no NaN or infinity" in error.problem


def test_non_finite_floats_cannot_be_decoded() -> None:
    """A NaN handed to decode directly is refused too."""
    assert _error(math.nan, float).problem == "expected finite float, got NaN"


def test_encoding_checks_the_declared_primitive_type() -> None:
    """A value that does not match its declared type is refused before it is stored."""
    assert _encode_error("x", int).problem == 'expected int, got "x"'
    assert _encode_error(True, int).problem == "expected int, got true"
    assert _encode_error(1, str).problem == "expected str, got 1"


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
    assert str(_error({"x": 1, "y": "a"}, Point, "p")) == 'p.y: expected float, got "a"'


def test_recursive_classes_round_trip() -> None:
    """A class that contains a list of itself works."""
    tree = Tree("root", [Tree("a"), Tree("b", [Tree("c")])])
    assert decode(encode(tree), Tree) == tree
    data = {"label": "r", "children": [{"label": "a", "children": [{"label": 1}]}]}
    assert _error(data, Tree).path == "children[0].children[0].label"


def test_generic_classes_use_their_type_arguments() -> None:
    """``Box[int]`` checks its content as an int."""
    assert decode({"content": 3}, Box[int]) == Box(3)
    assert _error({"content": "3"}, Box[int], "box").path == "box.content"
    assert encode(Box(NOON), Box[datetime]) == {"content": "2026-01-01T12:00:00Z"}


def test_init_false_fields_are_not_part_of_the_json() -> None:
    """Fields the constructor does not take are neither written nor accepted."""
    assert encode(Reading(1.5)) == {"value": 1.5}
    assert str(_encode_error(Reading(math.nan), path="r")).startswith("r.value: cannot encode nan")
    assert _error({"value": 1.5, "cache": None}, Reading).problem == 'unexpected field "cache"'


def test_encoding_the_wrong_class_names_the_expected_one() -> None:
    """A value of another class where an attrs class is declared is refused."""
    error = _encode_error({"sku": "a", "quantity": 1}, Item, "item")
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
    assert _error("blue", Colour).problem == 'expected Colour (one of "red", "green"), got "blue"'


def test_enum_values_keep_their_json_type() -> None:
    """``true`` is not the IntEnum member 1 and ``"1"`` is not either."""
    assert _error(True, Priority).problem == "expected Priority (one of 1, 2), got true"
    assert _error("1", Priority).problem == 'expected Priority (one of 1, 2), got "1"'


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
    error = _encode_error(Result(datetime(2026, 1, 1)), Result, "result")
    assert str(error) == "result.when: naive datetime; use a timezone-aware datetime"


def test_naive_datetimes_cannot_be_decoded() -> None:
    """Text without an offset is refused, naming the field."""
    error = _error({"when": "2026-01-01T12:00:00"}, Result, "result")
    assert error.path == "result.when"
    assert error.problem.startswith("expected timezone-aware datetime")


@pytest.mark.parametrize("data", ["tomorrow", 1767268800, "2026-13-01T00:00:00Z"])
def test_datetimes_must_be_iso_text(data: object) -> None:
    """Numbers and free text are not datetimes."""
    assert _error(data, datetime).problem.startswith("expected ISO 8601 datetime, got ")


def test_dates_round_trip_as_iso_text() -> None:
    """A date is YYYY-MM-DD and a datetime is not a date."""
    assert encode(date(2026, 2, 3)) == "2026-02-03"
    assert decode("2026-02-03", date) == date(2026, 2, 3)
    assert _error("2026-02-03T00:00:00Z", date).problem.startswith("expected ISO 8601 date")
    assert _encode_error(NOON, date).problem.startswith("expected date, got datetime")


def test_timedeltas_are_float_seconds() -> None:
    """Durations are seconds as a number, read from ints or floats."""
    assert encode(timedelta(minutes=1, microseconds=500)) == 60.0005
    assert decode(90, timedelta) == timedelta(seconds=90)
    assert decode(0.25, timedelta) == timedelta(milliseconds=250)
    assert _error("90", timedelta).problem == 'expected duration in seconds, got "90"'
    assert _error(True, timedelta).problem == "expected duration in seconds, got true"
    assert _error(1e20, timedelta).problem.startswith("duration out of range")


def test_uuids_are_canonical_text() -> None:
    """A UUID is its hyphenated text."""
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert encode(value) == "12345678-1234-5678-1234-567812345678"
    assert decode("12345678-1234-5678-1234-567812345678", uuid.UUID) == value
    assert _error("nope", uuid.UUID).problem == 'expected UUID, got "nope"'


def test_bytes_are_base64() -> None:
    """Bytes are standard base64 text, validated on the way in."""
    assert encode(b"\x00\xffhi") == "AP9oaQ=="
    assert decode("AP9oaQ==", bytes) == b"\x00\xffhi"
    assert _error("not base64!", bytes).problem == 'expected base64 text, got "not base64!"'


def test_decimals_are_exact_text() -> None:
    """Decimals keep every digit, as text, and NaN is refused both ways."""
    assert encode(Decimal("10.50")) == "10.50"
    assert decode("10.50", Decimal) == Decimal("10.50")
    assert str(decode("-1.5E+3", Decimal)) == "-1.5E+3"
    assert _error(10.5, Decimal).problem == "expected decimal number as text, got 10.5"
    assert _error("NaN", Decimal).problem == 'expected decimal number as text, got "NaN"'
    assert "only finite decimals" in _encode_error(Decimal("NaN")).problem


# -- containers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "type_", "data"),
    [
        ([1, 2], list[int], [1, 2]),
        ((1, 2), tuple[int, ...], [1, 2]),
        ((1, "a"), tuple[int, str], [1, "a"]),
        ({3, 1, 2}, set[int], [1, 2, 3]),
        (frozenset({"b", "a"}), frozenset[str], ["a", "b"]),
        ([1, 2], Sequence[int], [1, 2]),
        ({"a": 1}, Mapping[str, int], {"a": 1}),
        ({"a": [NOON]}, dict[str, list[datetime]], {"a": ["2026-01-01T12:00:00Z"]}),
        ({Colour.RED: 1}, dict[Colour, int], {"red": 1}),
    ],
)
def test_containers_round_trip(value: object, type_: Any, data: JsonValue) -> None:
    """Each container encodes to a JSON list or object and decodes to its declared kind."""
    assert encode(value, type_) == data
    decoded = decode(data, type_)
    assert decoded == value
    assert type(decoded) is type(value)


def test_abstract_containers_decode_to_builtins() -> None:
    """Sequence gives a list and Mapping a dict."""
    assert type(decode([1], Sequence[int])) is list
    assert type(decode({"a": 1}, Mapping[str, int])) is dict


def test_sets_are_sorted_so_equal_sets_give_equal_text() -> None:
    """Encoding a set is deterministic, even for mixed element types."""
    assert encode({"b", "c", "a"}) == ["a", "b", "c"]
    assert encode({3, "x"}) == encode({"x", 3})
    items = [Item("b", 1), Item("a", 2), Item("c", 0)]
    texts = {default_codec.dumps(set(order), set[Item]) for order in (items, items[::-1])}
    assert texts == {'[{"sku":"c","quantity":0},{"sku":"b","quantity":1},{"sku":"a","quantity":2}]'}


@pytest.mark.parametrize(
    ("data", "type_", "problem"),
    [
        ("abc", list[str], 'expected list, got "abc"'),
        ({"a": 1}, list[int], 'expected list, got {"a": 1}'),
        ([1, 2, 3], tuple[int, int], "expected list of 2 items, got [1, 2, 3]"),
        ([1, 2], dict[str, int], "expected dict, got [1, 2]"),
        ([[1], [1]], set[list[int]], "cannot build a set: unhashable type: 'list'"),
    ],
)
def test_containers_are_strict(data: object, type_: Any, problem: str) -> None:
    """A string is not a list and a list is not a dict or a fixed-size tuple."""
    assert _error(data, type_).problem == problem


def test_container_errors_name_the_index() -> None:
    """Element errors carry their index, also inside tuples and sets."""
    assert str(_error([1, "a"], tuple[int, int], "pair")) == 'pair[1]: expected int, got "a"'
    assert _error([1, "a"], frozenset[int]).path == "[1]"


def test_mapping_keys_are_decoded_by_their_type() -> None:
    """Keys of an enum-keyed dict are checked, with the key as the path."""
    error = _error({"blue": 1}, dict[Colour, int], "counts")
    assert error.path == 'counts["blue"]'
    assert error.problem.startswith("invalid key: expected Colour")


def test_non_string_keys_cannot_be_encoded() -> None:
    """A dict whose keys do not encode to text is refused, naming the dict."""
    error = _encode_error({"counts": {1: "a"}}, path="result")
    assert str(error) == 'result["counts"]: dict keys must be strings, got 1'


def test_encoding_a_string_as_a_list_is_refused() -> None:
    """A str declared as list[str] is not silently split into characters."""
    assert _encode_error("abc", list[str]).problem == 'expected list[str], got "abc"'


# -- optionals, unions, literals --------------------------------------------------------


def test_optionals_accept_null_or_the_type() -> None:
    """``X | None`` takes null or an X, and reports errors from inside X."""
    assert decode(None, int | None) is None
    assert decode(3, int | None) == 3
    assert encode(None, Item | None) is None
    assert _error({"sku": "a", "quantity": "x"}, Item | None, "item").path == "item.quantity"


@pytest.mark.parametrize(
    ("data", "type_", "expected"),
    [
        (1, float | int, 1),
        (1.5, float | int, 1.5),
        (True, int | bool, True),
        ("red", str | Colour, Colour.RED),
        ("blue", str | Colour, "blue"),
        ("a", str | Literal["a"], "a"),
        ("2026-01-01T12:00:00Z", str | datetime, NOON),
        ({"name": "Rex"}, Settings | Cat | Dog, Settings(name="Rex")),
    ],
)
def test_unions_try_the_most_specific_member_first(
    data: object, type_: Any, expected: object
) -> None:
    """Whatever the written order, the most specific member that fits wins."""
    decoded = decode(data, type_)
    assert decoded == expected
    assert type(decoded) is type(expected)


def test_equal_unions_decode_alike() -> None:
    """``int | float`` and ``float | int`` are the same type and give the same result."""
    assert type(decode(2, int | float)) is type(decode(2, float | int)) is int


def test_unions_of_classes_pick_the_one_that_fits() -> None:
    """Unknown keys are refused, so the fields tell the classes apart."""
    assert decode({"name": "Rex", "good": True}, Cat | Dog) == Dog("Rex", True)
    assert decode({"name": "Tom", "lives": 9}, Cat | Dog) == Cat("Tom", 9)
    assert encode(Dog("Rex", True), Cat | Dog) == {"name": "Rex", "good": True}


def test_union_errors_come_from_the_closest_member() -> None:
    """The member that got deepest into the data reports its error."""
    error = _error({"name": "Rex", "good": "very"}, Cat | Dog, "pet")
    assert str(error) == 'pet.good: expected bool, got "very"'


def test_union_errors_fall_back_to_the_whole_union() -> None:
    """When no member gets past the top the message lists them all."""
    assert _error([1], str | int | None).problem == "expected int | str | None, got [1]"


def test_literals_are_exact() -> None:
    """A literal accepts its values with their JSON type, and enum members by value."""
    assert decode("a", Literal["a", "b"]) == "a"
    assert decode("red", Literal[Colour.RED]) is Colour.RED
    assert _error("c", Literal["a", "b"]).problem == 'expected one of "a", "b", got "c"'
    assert _error(True, Literal[1]).problem == "expected one of 1, got true"
    assert encode(Colour.RED, Literal[Colour.RED]) == "red"


# -- Any, JsonValue, NewType ---------------------------------------------------------------


def test_any_passes_json_through() -> None:
    """Any JSON value decodes to itself."""
    data: JsonValue = {"a": [1, 2.5, "x", None, True, {"b": []}]}
    passed: object = decode(data, Any)
    assert passed == data
    assert decode(data, JsonValue) == data


@pytest.mark.parametrize(
    ("data", "path", "problem"),
    [
        ({"a": (1, 2)}, '["a"]', "expected a JSON value, got (1, 2)"),
        ([1, {"b": math.inf}], '[1]["b"]', "expected a finite number, got inf"),
        ({1: 2}, "", "object keys must be strings, got 1"),
    ],
)
def test_any_rejects_what_is_not_json(data: object, path: str, problem: str) -> None:
    """Tuples, infinities and non-string keys are not JSON."""
    error = _error(data, Any)
    assert (error.path, error.problem) == (path, problem)


def test_newtypes_use_their_base_type() -> None:
    """A NewType over str is checked as a str."""
    assert decode("u1", UserId) == "u1"
    assert _error(1, UserId).problem == "expected str, got 1"


# -- encoding without a declared type ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "data"),
    [
        (Order("o", [Item("a", 1)]), {"id": "o", "items": [{"sku": "a", "quantity": 1}]}),
        (Point(1.0, 2.0), {"x": 1.0, "y": 2.0, "label": ""}),
        (Colour.GREEN, "green"),
        (NOON, "2026-01-01T12:00:00Z"),
        (date(2026, 1, 2), "2026-01-02"),
        (timedelta(seconds=3), 3.0),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (b"hi", "aGk="),
        (Decimal("1.0"), "1.0"),
        ((1, [2, (3,)]), [1, [2, [3]]]),
        ({"a": {"b": NOON}}, {"a": {"b": "2026-01-01T12:00:00Z"}}),
        (None, None),
        (True, True),
    ],
)
def test_encode_infers_the_type_from_the_value(value: object, data: JsonValue) -> None:
    """Without a declared type, the runtime type decides."""
    assert encode(value) == data


def test_arbitrary_objects_cannot_be_encoded() -> None:
    """An object of an unregistered class is refused, naming where it is."""
    error = _encode_error({"items": [1, object()]}, path="result")
    assert error.path == 'result["items"][1]'
    assert error.problem.startswith("cannot encode <object object")


def test_unregistered_classes_suggest_registering() -> None:
    """The message for an unknown class says how to fix it."""

    class Opaque:
        pass

    error = _encode_error(Box(Opaque()), Box[Opaque], "box")
    assert error.path == "box.content"
    assert "register one with Codec.register" in error.problem


def test_unsupported_declared_types_are_a_type_error() -> None:
    """Decoding into a type with no decoder is a programming error, not bad data."""

    class Opaque:
        pass

    with pytest.raises(TypeError, match=r"register one with Codec\.register"):
        decode({}, Opaque)


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
    assert "has no JSON form" in _encode_error(Money(1)).problem


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


# -- typing ----------------------------------------------------------------------------


def test_decode_is_typed_by_the_class_it_is_given() -> None:
    """Type checkers see ``decode(x, int)`` as an int and other type forms as Any."""
    assert assert_type(decode(1, int), int) == 1
    assert assert_type(decode({"sku": "a", "quantity": 1}, Item), Item) == Item("a", 1)
    assert assert_type(default_codec.decode([1], list[int]), list[int]) == [1]
    assert assert_type(decode("a", Literal["a", "b"]), Any) == "a"


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
