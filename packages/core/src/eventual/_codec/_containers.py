"""Hooks for containers: attrs classes and dataclasses, lists, tuples, sets, mappings.

Records are JSON objects of their fields (unknown keys are rejected); tuples
and sets are lists, sets sorted so that equal sets give equal text; mapping keys
must be strings, or encode to strings.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import json
import typing
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import BaseValidationError

from .._errors import ValidationError
from ._errors import _as_error, _key_segment, _mismatch, _raise_at, _show, _type_name
from ._limits import check_text
from ._types import (
    _SETS,
    _Decoder,
    _Encoder,
    _first_arg,
    _is_hetero_tuple,
    _is_runtime,
    _origin,
    _Parts,
)


def _record_fields(type_: Any) -> list[tuple[str, Any]]:
    """The name and declared type of each field that cattrs encodes (``init=False`` is not)."""
    cls = _origin(type_)
    if attrs.has(cls):
        attrs.resolve_types(cls)
        pairs = [(field.name, field.type) for field in attrs.fields(cls) if field.init]
    else:
        hints = typing.get_type_hints(cls)
        fields = [field for field in dataclasses.fields(cls) if field.init]
        pairs = [(field.name, hints.get(field.name, Any)) for field in fields]
    bound = dict(zip(getattr(cls, "__parameters__", ()), typing.get_args(type_), strict=False))
    return [
        (name, bound.get(kind, kind) if isinstance(kind, TypeVar) else kind) for name, kind in pairs
    ]


def _is_sequence_value(value: object) -> bool:
    return isinstance(value, collections.abc.Sequence) and not isinstance(
        value, str | bytes | bytearray
    )


def _set_sort_key(item: object) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _decode_elements(data: list[Any], hooks: list[tuple[Any, _Decoder]]) -> list[Any]:
    result = []
    for index, (element, (item_type, item)) in enumerate(zip(data, hooks, strict=True)):
        try:
            result.append(item(element, item_type))
        except Exception as exc:
            _raise_at(f"[{index}]", exc)
    return result


class _ContainerHooks:
    """Builds the hooks of containers for one converter.

    Each encoder it builds is recorded in ``parts`` with a function that lists the
    value's parts (path segment, value, declared type), so that ``Codec`` can find
    where a failed encoding went wrong.
    """

    def __init__(self, converter: cattrs.Converter, parts: dict[_Encoder, _Parts]) -> None:
        self._converter = converter
        self._parts = parts

    def record_decoder(self, type_: Any) -> _Decoder:
        structure = self._converter.gen_structure_attrs_fromdict(type_)
        expected = _type_name(type_)

        def decode_record(data: object, _: Any) -> object:
            if type(data) is not dict:
                raise _mismatch(expected, data)
            try:
                return structure(data, type_)
            except BaseValidationError as exc:
                error = _as_error(exc)
                raise error from error.__cause__

        return decode_record

    def items_decoder(self, type_: Any) -> _Decoder:
        if _is_hetero_tuple(type_):
            hooks = [(t, self._converter.get_structure_hook(t)) for t in typing.get_args(type_)]
            size = len(hooks)

            def decode_tuple(data: object, _: Any) -> tuple[Any, ...]:
                if type(data) is not list or len(data) != size:
                    raise _mismatch(f"list of {size} items", data)
                return tuple(_decode_elements(data, hooks))

            return decode_tuple
        item_type = _first_arg(type_)
        item = self._converter.get_structure_hook(item_type)
        make = _SETS.get(_origin(type_), tuple if _origin(type_) is tuple else None)

        def decode_items(data: object, _: Any) -> object:
            if type(data) is not list:
                raise _mismatch("list", data)
            elements: list[Any] = []
            append = elements.append
            for index, element in enumerate(data):
                try:
                    append(item(element, item_type))
                except Exception as exc:
                    _raise_at(f"[{index}]", exc)
            try:
                return elements if make is None else make(elements)
            except TypeError as exc:  # unhashable set elements
                raise ValidationError("", f"cannot build a set: {exc}") from None

        return decode_items

    def mapping_decoder(self, type_: Any) -> _Decoder:
        args = typing.get_args(type_)
        key_type, value_type = args if len(args) == 2 else (str, Any)
        plain_keys = key_type is str or _is_runtime(key_type)
        key, value = (self._converter.get_structure_hook(t) for t in (key_type, value_type))

        def decode_mapping(data: object, _: Any) -> dict[Any, Any]:
            if type(data) is not dict:
                raise _mismatch("dict", data)
            result = {}
            for raw_key, element in data.items():
                if type(raw_key) is not str:
                    raise ValidationError("", f"object keys must be strings, got {_show(raw_key)}")
                try:
                    decoded_key = raw_key if plain_keys else key(raw_key, key_type)
                except Exception as exc:
                    problem = _as_error(exc).problem
                    raise ValidationError(
                        _key_segment(raw_key), f"invalid key: {problem}"
                    ) from None
                try:
                    result[decoded_key] = value(element, value_type)
                except Exception as exc:
                    _raise_at(_key_segment(raw_key), exc)
            return result

        return decode_mapping

    def record_encoder(self, type_: Any) -> _Encoder:
        encode_record: _Encoder = self._converter.gen_unstructure_attrs_fromdict(type_)
        cls, expected, fields = _origin(type_), _type_name(type_), _record_fields(type_)

        def parts(value: object) -> list[tuple[str, Any, Any]]:
            if not isinstance(value, cls):
                raise _mismatch(expected, value)
            return [(f".{name}", getattr(value, name), kind) for name, kind in fields]

        self._parts[encode_record] = parts
        return encode_record

    def items_encoder(self, type_: Any) -> _Encoder:
        item_type = _first_arg(type_)
        item = self._converter.get_unstructure_hook(item_type)
        expected, is_set = _type_name(type_), _origin(type_) in _SETS
        accepts = (lambda v: isinstance(v, collections.abc.Set)) if is_set else _is_sequence_value

        def encode_items(value: Any) -> list[Any]:
            if not (type(value) is list or accepts(value)):
                raise _mismatch(expected, value)
            elements = [item(element) for element in value]
            if is_set:
                try:
                    elements.sort()
                except TypeError:  # mixed or unorderable JSON values
                    elements.sort(key=_set_sort_key)
            return elements

        def parts(value: Any) -> list[tuple[str, Any, Any]]:
            if not accepts(value):
                raise _mismatch(expected, value)
            return [(f"[{i}]", element, item_type) for i, element in enumerate(value)]

        self._parts[encode_items] = parts
        return encode_items

    def tuple_encoder(self, type_: Any) -> _Encoder:
        item_types = typing.get_args(type_)
        items = [self._converter.get_unstructure_hook(t) for t in item_types]
        expected = _type_name(type_)

        def parts(value: Any) -> list[tuple[str, Any, Any]]:
            if not _is_sequence_value(value) or len(value) != len(items):
                raise _mismatch(expected, value)
            return [
                (f"[{i}]", v, t) for i, (v, t) in enumerate(zip(value, item_types, strict=True))
            ]

        def encode_tuple(value: Any) -> list[Any]:
            if not _is_sequence_value(value) or len(value) != len(items):
                raise _mismatch(expected, value)
            return [item(element) for item, element in zip(items, value, strict=True)]

        self._parts[encode_tuple] = parts
        return encode_tuple

    def mapping_encoder(self, type_: Any) -> _Encoder:
        args = typing.get_args(type_)
        key_type, value_type = args if len(args) == 2 else (Any, Any)
        encode_key, item = (self._converter.get_unstructure_hook(t) for t in (key_type, value_type))
        expected = _type_name(type_)

        def key(raw: object) -> str:
            if type(raw) is str:
                check_text(raw)
                return raw
            try:
                encoded = encode_key(raw)
            except Exception:
                encoded = None
            if type(encoded) is str:
                return encoded
            raise ValidationError("", f"dict keys must be strings, got {_show(raw)}")

        def encode_mapping(value: object) -> dict[str, Any]:
            if type(value) is dict or isinstance(value, collections.abc.Mapping):
                return {key(k): item(v) for k, v in value.items()}
            raise _mismatch(expected, value)

        def parts(value: object) -> list[tuple[str, Any, Any]]:
            if not isinstance(value, collections.abc.Mapping):
                raise _mismatch(expected, value)
            return [(_key_segment(k), v, value_type) for k, v in value.items()]

        self._parts[encode_mapping] = parts
        return encode_mapping
