"""JSON Schemas derived from the types the codec encodes."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, NewType, TypeVar

import attrs
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from eventual.codec import JsonValue, encode
from eventual_engine._http._schema import SchemaSet, record_fields, wants_text

T = TypeVar("T")
Sku = NewType("Sku", str)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    S = 1
    M = 2


@attrs.frozen
class Node:
    name: str
    children: list[Node] = attrs.field(factory=list)


@attrs.frozen
class Box(Generic[T]):
    item: T


@dataclasses.dataclass
class Everything:
    when: datetime
    day: date
    key: uuid.UUID
    price: Decimal
    blob: bytes
    wait: timedelta
    colour: Colour
    size: Size
    mode: Literal["a", "b"]
    tags: frozenset[str]
    pair: tuple[int, str]
    many: tuple[int, ...]
    lookup: Mapping[str, float]
    maybe: int | None
    sku: Sku
    note: Annotated[str, "doc"]
    anything: Any
    data: JsonValue
    items: Sequence[bool] = ()
    extra: dict[str, int] = dataclasses.field(default_factory=dict)


@pytest.mark.parametrize(
    ("type_", "schema"),
    [
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (str, {"type": "string"}),
        (None, {"type": "null"}),
        (datetime, {"type": "string", "format": "date-time"}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (set[str], {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
        (dict[str, bool], {"type": "object", "additionalProperties": {"type": "boolean"}}),
        (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        (Literal[1, "x"], {"enum": [1, "x"]}),
        (Colour, {"enum": ["red", "blue"]}),
        (Any, {}),
    ],
)
def test_leaf_and_container_schemas(type_: Any, schema: dict[str, Any]) -> None:
    """Each JSON type maps to the schema of its JSON form."""
    assert SchemaSet().of(type_) == schema


def test_recursive_record_refers_to_itself() -> None:
    """A recursive attrs class becomes one component that refers to itself."""
    schemas = SchemaSet()
    assert schemas.of(Node) == {"$ref": "#/components/schemas/Node"}
    node: Any = schemas.components["Node"]
    assert node["properties"]["children"]["items"] == {"$ref": "#/components/schemas/Node"}
    assert node["required"] == ["name"]


def test_generic_records_get_distinct_names() -> None:
    """Box[int] and Box[str] are two components with their own item types."""
    schemas = SchemaSet()
    schemas.of(Box[int])
    schemas.of(Box[str])
    components: Any = schemas.components
    assert components["Box_int"]["properties"]["item"] == {"type": "integer"}
    assert components["Box_str"]["properties"]["item"] == {"type": "string"}


def test_encoded_values_match_their_schema() -> None:
    """What the codec encodes validates against the derived schema (and extra keys do not)."""
    value = Everything(
        when=datetime(2026, 1, 1, 12, tzinfo=UTC),
        day=date(2026, 1, 2),
        key=uuid.UUID(int=5),
        price=Decimal("1.50"),
        blob=b"\x00\x01",
        wait=timedelta(seconds=90),
        colour=Colour.BLUE,
        size=Size.M,
        mode="a",
        tags=frozenset({"x", "y"}),
        pair=(1, "one"),
        many=(1, 2, 3),
        lookup={"a": 1.5},
        maybe=None,
        sku=Sku("s-1"),
        note="n",
        anything={"free": [1]},
        data=[1, "x"],
    )
    schemas = SchemaSet(ref_prefix="#/$defs/")
    root = {**schemas.of(Everything), "$defs": schemas.components}
    validator = Draft202012Validator(root)
    encoded = encode(value, Everything)
    assert list(validator.iter_errors(encoded)) == []
    assert isinstance(encoded, dict)
    assert list(validator.iter_errors({**encoded, "unknown": 1}))
    assert list(validator.iter_errors({**encoded, "size": "M"}))


def test_record_fields_and_defaults() -> None:
    """record_fields lists each field with its type and whether it is required."""
    assert record_fields(Node) == [("name", str, True), ("children", list[Node], False)]
    assert record_fields(Box[int]) == [("item", int, True)]
    assert record_fields(int) == []


@pytest.mark.parametrize(
    ("type_", "text"),
    [
        (str, True),
        (Sku, True),
        (datetime, True),
        (uuid.UUID, True),
        (Colour, True),
        (str | None, True),
        (Literal["a"], True),
        (Any, True),
        (int, False),
        (float, False),
        (bool, False),
        (Size, False),
        (int | None, False),
        (list[str], False),
        (Node, False),
    ],
)
def test_wants_text(type_: Any, text: bool) -> None:
    """Path and query text is kept as a string only where the JSON form may be a string."""
    assert wants_text(type_) is text
