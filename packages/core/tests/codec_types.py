"""The types and helpers the codec's tests share."""

from __future__ import annotations

import dataclasses
import enum
from datetime import UTC, datetime
from typing import Any, Generic, NewType, TypeVar

import attrs
import pytest

from eventual._codec import decode, encode
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


ORDER = {
    "id": "o1",
    "items": [
        {"sku": "a", "quantity": 1},
        {"sku": "b", "quantity": 1},
        {"sku": "c", "quantity": "x"},
    ],
}


def decode_error(data: object, type_: Any, path: str = "") -> ValidationError:
    """Decode data that must fail and return the error."""
    with pytest.raises(ValidationError) as info:
        decode(data, type_, path=path)
    return info.value


def encode_error(value: object, type_: Any = None, path: str = "") -> ValidationError:
    """Encode a value that must fail and return the error."""
    with pytest.raises(ValidationError) as info:
        encode(value, type_, path=path)
    return info.value
