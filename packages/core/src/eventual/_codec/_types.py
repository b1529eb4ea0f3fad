"""Type aliases of the codec, and the predicates that sort declared types into kinds."""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any, Literal, TypeAlias, TypeVar, Union

import attrs

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
"""What the ``json`` module reads and writes: null, bool, number, string, list, object."""

T = TypeVar("T")

_Decoder: TypeAlias = Callable[[Any, Any], Any]
_Encoder: TypeAlias = Callable[[Any], Any]
_Parts: TypeAlias = Callable[[Any], list[tuple[str, Any, Any]]]

_NoneType = type(None)
_LISTS = {list, tuple, collections.abc.Sequence, collections.abc.MutableSequence}
_SETS: dict[Any, Callable[[list[Any]], Any]] = {
    set: set,
    collections.abc.MutableSet: set,
    frozenset: frozenset,
    collections.abc.Set: frozenset,
}
_MAPPINGS = {dict, collections.abc.Mapping, collections.abc.MutableMapping}


def _origin(type_: Any) -> Any:
    origin = typing.get_origin(type_)
    return type_ if origin is None else origin


def _first_arg(type_: Any) -> Any:
    args = typing.get_args(type_)
    return args[0] if args else Any


def _is_union(type_: Any) -> bool:
    return typing.get_origin(type_) in (Union, types.UnionType)


def _is_literal(type_: Any) -> bool:
    return typing.get_origin(type_) in (Literal,)  # mypy sees ``is Literal`` as always false


def _is_enum(type_: Any) -> bool:
    return isinstance(type_, type) and issubclass(type_, Enum)


def _is_record(type_: Any) -> bool:
    cls = _origin(type_)
    return isinstance(cls, type) and (attrs.has(cls) or dataclasses.is_dataclass(cls))


def _is_hetero_tuple(type_: Any) -> bool:
    args = typing.get_args(type_)
    return _origin(type_) is tuple and bool(args) and not (len(args) == 2 and args[1] is ...)


def _is_runtime(type_: Any) -> bool:
    """Whether a declared type says nothing, so that the value's own class decides."""
    return type_ is Any or type_ is object or isinstance(type_, TypeVar) or type_ == JsonValue


def _exactly(cls: type) -> Callable[[Any], bool]:
    return lambda type_: type_ is cls
