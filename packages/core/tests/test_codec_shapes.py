"""Tests for the JSON codec: containers, unions, literals, Any, and encoding without a type."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, assert_type

import pytest

from eventual._codec import JsonValue, decode, default_codec, encode

from .codec_types import (
    NOON,
    Box,
    Cat,
    Colour,
    Dog,
    Item,
    Order,
    Point,
    Settings,
    UserId,
    decode_error,
    encode_error,
)

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
    assert decode_error(data, type_).problem == problem


def test_container_errors_name_the_index() -> None:
    """Element errors carry their index, also inside tuples and sets."""
    assert str(decode_error([1, "a"], tuple[int, int], "pair")) == 'pair[1]: expected int, got "a"'
    assert decode_error([1, "a"], frozenset[int]).path == "[1]"


def test_mapping_keys_are_decoded_by_their_type() -> None:
    """Keys of an enum-keyed dict are checked, with the key as the path."""
    error = decode_error({"blue": 1}, dict[Colour, int], "counts")
    assert error.path == 'counts["blue"]'
    assert error.problem.startswith("invalid key: expected Colour")


def test_non_string_keys_cannot_be_encoded() -> None:
    """A dict whose keys do not encode to text is refused, naming the dict."""
    error = encode_error({"counts": {1: "a"}}, path="result")
    assert str(error) == 'result["counts"]: dict keys must be strings, got 1'


def test_encoding_a_string_as_a_list_is_refused() -> None:
    """A str declared as list[str] is not silently split into characters."""
    assert encode_error("abc", list[str]).problem == 'expected list[str], got "abc"'


# -- optionals, unions, literals --------------------------------------------------------


def test_optionals_accept_null_or_the_type() -> None:
    """``X | None`` takes null or an X, and reports errors from inside X."""
    assert decode(None, int | None) is None
    assert decode(3, int | None) == 3
    assert encode(None, Item | None) is None
    assert decode_error({"sku": "a", "quantity": "x"}, Item | None, "item").path == "item.quantity"


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
    error = decode_error({"name": "Rex", "good": "very"}, Cat | Dog, "pet")
    assert str(error) == 'pet.good: expected bool, got "very"'


def test_union_errors_fall_back_to_the_whole_union() -> None:
    """When no member gets past the top the message lists them all."""
    assert decode_error([1], str | int | None).problem == "expected int | str | None, got [1]"


def test_literals_are_exact() -> None:
    """A literal accepts its values with their JSON type, and enum members by value."""
    assert decode("a", Literal["a", "b"]) == "a"
    assert decode("red", Literal[Colour.RED]) is Colour.RED
    assert decode_error("c", Literal["a", "b"]).problem == 'expected one of "a", "b", got "c"'
    assert decode_error(True, Literal[1]).problem == "expected one of 1, got true"
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
    error = decode_error(data, Any)
    assert (error.path, error.problem) == (path, problem)


def test_newtypes_use_their_base_type() -> None:
    """A NewType over str is checked as a str."""
    assert decode("u1", UserId) == "u1"
    assert decode_error(1, UserId).problem == "expected str, got 1"


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
    error = encode_error({"items": [1, object()]}, path="result")
    assert error.path == 'result["items"][1]'
    assert error.problem.startswith("cannot encode <object object")


def test_unregistered_classes_suggest_registering() -> None:
    """The message for an unknown class says how to fix it."""

    class Opaque:
        pass

    error = encode_error(Box(Opaque()), Box[Opaque], "box")
    assert error.path == "box.content"
    assert "register one with Codec.register" in error.problem


def test_unsupported_declared_types_are_a_type_error() -> None:
    """Decoding into a type with no decoder is a programming error, not bad data."""

    class Opaque:
        pass

    with pytest.raises(TypeError, match=r"register one with Codec\.register"):
        decode({}, Opaque)


# -- typing ----------------------------------------------------------------------------


def test_decode_is_typed_by_the_class_it_is_given() -> None:
    """Type checkers see ``decode(x, int)`` as an int and other type forms as Any."""
    assert assert_type(decode(1, int), int) == 1
    assert assert_type(decode({"sku": "a", "quantity": 1}, Item), Item) == Item("a", 1)
    assert assert_type(default_codec.decode([1], list[int]), list[int]) == [1]
    assert assert_type(decode("a", Literal["a", "b"]), Any) == "a"
