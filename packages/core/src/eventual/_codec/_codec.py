"""The ``Codec`` class: its API, the order its hooks are registered in, and locating.

Encoding does not track paths, to stay fast; when it fails, a second, slow walk
over the value finds where.
"""

from __future__ import annotations

import json
import typing
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, NoReturn, overload

import cattrs
from cattrs.errors import StructureHandlerNotFoundError

from .._errors import ValidationError
from ._containers import _ContainerHooks
from ._errors import _as_error, _prefixed, _rooted, _show, _type_name
from ._leaves import (
    _base64_text,
    _check_json,
    _date_text,
    _datetime_text,
    _decimal_text,
    _decode_any,
    _decode_bool,
    _decode_none,
    _decode_timedelta,
    _encode_bool,
    _encode_float,
    _encode_int,
    _encode_none,
    _encode_str,
    _enum_decoder,
    _enum_encoder,
    _float_value,
    _instance_encoder,
    _int_value,
    _literal_decoder,
    _parse_base64,
    _parse_datetime,
    _parse_decimal,
    _primitive_decoder,
    _str_value,
    _text_decoder,
)
from ._types import (
    _LISTS,
    _MAPPINGS,
    _SETS,
    JsonValue,
    T,
    _Decoder,
    _Encoder,
    _exactly,
    _is_enum,
    _is_hetero_tuple,
    _is_literal,
    _is_record,
    _is_runtime,
    _is_union,
    _NoneType,
    _origin,
    _Parts,
)
from ._unions import _union_decoder


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


class Codec:
    """Converts between Python values and JSON-compatible values, by declared type.

    One instance builds one cattrs converter and caches a function per type, so
    keep instances around; ``default_codec`` is the shared one.
    """

    def __init__(self) -> None:
        self._converter = cattrs.Converter(
            detailed_validation=True,
            forbid_extra_keys=True,
            unstructure_fallback_factory=self._unknown_encoder,
        )
        self._subclass_decoders: dict[Any, _Decoder] = {}
        self._parts: dict[_Encoder, _Parts] = {}  # how _locate looks inside a value
        self._register_leaves()
        self._register_containers()

    def encode(self, value: object, type_: Any = None, *, path: str = "") -> JsonValue:
        """Convert a value to JSON-compatible data.

        Args:
            value: The value.
            type_: Its declared type; ``None`` uses the value's runtime type.
            path: Where the value sits (e.g. ``"result"``), to prefix error paths.

        Returns:
            Data made of dict, list, str, int, float, bool and None only.

        Raises:
            ValidationError: The value has no JSON form (NaN, a naive datetime, a dict
                with non-string keys, an unregistered class) or does not match
                ``type_``; its path names where, e.g. ``result.when``.
        """
        try:
            result: JsonValue = self._converter.unstructure(value, type_)
        except Exception as exc:
            try:
                error = self._locate(value, type_)
            except RecursionError:
                error = None
            located = _rooted(path, error or _as_error(exc))
            raise located from located.__cause__
        return result

    @overload
    def decode(self, data: object, type_: type[T], *, path: str = "") -> T: ...

    @overload
    def decode(self, data: object, type_: Any, *, path: str = "") -> Any: ...

    def decode(self, data: object, type_: Any, *, path: str = "") -> Any:
        """Convert JSON-compatible data to a value of the declared type.

        Args:
            data: Data as ``json.loads`` returns it.
            type_: The type to produce: ``Order``, ``list[int]``, ``int | None``...
            path: Where the data sits (e.g. ``"order"``), to prefix error paths.

        Returns:
            The value.

        Raises:
            ValidationError: The data does not fit; ``path`` and ``problem`` say where
                and why, e.g. ``order.items[2].quantity`` and ``expected int, got "x"``.
            TypeError: The type is not supported and no codec is registered for it.
        """
        try:
            hook = self._converter.get_structure_hook(type_)
        except StructureHandlerNotFoundError as exc:
            raise TypeError(
                f"cannot decode {_type_name(type_)}: no decoder for {_type_name(exc.type_)};"
                " register one with Codec.register"
            ) from None
        try:
            return hook(data, type_)
        except Exception as exc:
            located = _rooted(path, _as_error(exc))
            raise located from located.__cause__

    def register(
        self,
        type_: type[T],
        encode: Callable[[T], JsonValue],
        decode: Callable[[JsonValue], T],
    ) -> None:
        """Teach the codec a type it does not know (plugins use this).

        Args:
            type_: The class; its subclasses use the same functions.
            encode: Converts an instance to JSON-compatible data.
            decode: Converts such data back; it raises ``ValidationError`` (or any
                other exception, reported as the problem) when the data does not fit.
        """
        name = _type_name(type_)

        def decode_registered(data: Any, _: Any) -> T:
            try:
                return decode(data)
            except ValidationError:
                raise
            except Exception as exc:
                raise ValidationError("", f"invalid {name}: {exc}") from exc

        def encode_registered(value: T) -> JsonValue:
            try:
                result = encode(value)
            except ValidationError:
                raise
            except Exception as exc:
                raise ValidationError("", f"cannot encode {name}: {exc}") from exc
            _check_json(result)
            return result

        self._converter.register_structure_hook(type_, decode_registered)
        self._converter.register_unstructure_hook(type_, encode_registered)

    def dumps(self, value: object, type_: Any = None, *, path: str = "") -> str:
        """Encode a value as compact JSON text, keys in their order, non-ASCII kept.

        Args:
            value: The value.
            type_: Its declared type; ``None`` uses the value's runtime type.
            path: Where the value sits, to prefix error paths.

        Returns:
            The JSON text.

        Raises:
            ValidationError: As for ``encode``.
        """
        data = self.encode(value, type_, path=path)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    def loads(self, text: str | bytes, type_: Any, *, path: str = "") -> Any:
        """Parse JSON text and decode it to a value of the declared type.

        Args:
            text: JSON text, as str or UTF-8/16/32 bytes.
            type_: The type to produce.
            path: Where the data sits, to prefix error paths.

        Returns:
            The value.

        Raises:
            ValidationError: The text is not JSON (``malformed JSON: ...``; NaN and
                Infinity are refused) or does not fit the type.
        """
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise ValidationError(path, f"malformed JSON: {exc}") from None
        return self.decode(data, type_, path=path)

    # -- registering hooks (a later registration wins over an earlier one)

    def _register_leaves(self) -> None:
        converter = self._converter
        # cattrs puts str, bytes, int and float in singledispatch, which also matches
        # their subclasses (bool, IntEnum, str enums): these hooks route those on.
        for base, check in ((int, _int_value), (float, _float_value), (str, _str_value)):
            converter.register_structure_hook(
                base, _primitive_decoder(base, check, self._subclass_decoders)
            )
        converter.register_structure_hook(bool, _decode_bool)
        converter.register_structure_hook(timedelta, _decode_timedelta)
        converter.register_unstructure_hook(
            timedelta, _instance_encoder(timedelta, timedelta.total_seconds)
        )
        texts: list[tuple[type[Any], Callable[[str], object], Callable[[Any], str], str]] = [
            (datetime, _parse_datetime, _datetime_text, "ISO 8601 datetime"),
            (date, date.fromisoformat, _date_text, "ISO 8601 date"),
            (uuid.UUID, uuid.UUID, str, "UUID"),
            (Decimal, _parse_decimal, _decimal_text, "decimal number as text"),
            (bytes, _parse_base64, _base64_text, "base64 text"),
        ]
        for cls, parse, convert, expected in texts:
            converter.register_structure_hook(cls, _text_decoder(parse, expected))
            converter.register_unstructure_hook(cls, _instance_encoder(cls, convert))
        converter.register_unstructure_hook(str, _encode_str)
        # Exact matches, so that an IntEnum member is encoded as an enum.
        for number, encoder in ((int, _encode_int), (float, _encode_float), (bool, _encode_bool)):
            converter.register_unstructure_hook_func(_exactly(number), encoder)
        converter.register_structure_hook_func(lambda t: t is None or t is _NoneType, _decode_none)
        converter.register_unstructure_hook_func(
            lambda t: t is None or t is _NoneType, _encode_none
        )
        converter.register_structure_hook_factory(_is_enum, _enum_decoder)
        converter.register_unstructure_hook_factory(_is_enum, _enum_encoder)
        converter.register_structure_hook_factory(_is_literal, _literal_decoder)
        converter.register_unstructure_hook_func(_is_literal, self._encode_runtime)

    def _register_containers(self) -> None:
        converter = self._converter
        containers = _ContainerHooks(converter, self._parts)
        converter.register_structure_hook_factory(_is_record, containers.record_decoder)
        converter.register_unstructure_hook_factory(_is_record, containers.record_encoder)
        is_items = lambda t: _origin(t) in _LISTS or _origin(t) in _SETS  # noqa: E731
        converter.register_structure_hook_factory(is_items, containers.items_decoder)
        converter.register_unstructure_hook_factory(is_items, containers.items_encoder)
        converter.register_unstructure_hook_factory(_is_hetero_tuple, containers.tuple_encoder)
        is_mapping = lambda t: _origin(t) in _MAPPINGS  # noqa: E731
        converter.register_structure_hook_factory(is_mapping, containers.mapping_decoder)
        converter.register_unstructure_hook_factory(is_mapping, containers.mapping_encoder)
        converter.register_structure_hook_factory(_is_union, _union_decoder)
        # Registered last, so that they win: JsonValue is a union too.
        converter.register_structure_hook_func(_is_runtime, _decode_any)
        converter.register_unstructure_hook_func(_is_runtime, self._encode_runtime)

    def _encode_runtime(self, value: object) -> Any:
        if value.__class__ is object:
            raise ValidationError("", f"cannot encode {_show(value)}: it has no JSON form")
        return self._converter.unstructure(value)

    def _unknown_encoder(self, type_: Any) -> _Encoder:
        def encode_unknown(value: object) -> Any:
            if value.__class__ is not type_:  # a declared base class or protocol, say
                return self._encode_runtime(value)
            raise ValidationError(
                "",
                f"cannot encode {_show(value)}: {_type_name(type_)} has no JSON form;"
                " register one with Codec.register",
            )

        return encode_unknown

    # -- locating encode errors (slow path, after a failure)

    def _declared(self, type_: Any, value: object) -> Any:
        """The type that encoding dispatched on for this value."""
        if type_ is None or _is_runtime(type_) or _is_literal(type_):
            return value.__class__
        if typing.get_origin(type_) is Annotated:
            return self._declared(typing.get_args(type_)[0], value)
        if _is_union(type_):
            members = typing.get_args(type_)
            others = [member for member in members if member is not _NoneType]
            if value is None and len(others) < len(members):
                return _NoneType
            if len(members) == 2 and len(others) == 1:  # cattrs encodes Optional by its member
                return self._declared(others[0], value)
            return value.__class__
        return type_

    def _locate(self, value: object, type_: Any) -> ValidationError | None:
        """Find the first part of a value that fails to encode, with its path."""
        encoder = self._converter.get_unstructure_hook(self._declared(type_, value))
        parts = self._parts.get(encoder)
        if parts is not None:
            try:
                children = parts(value)
            except ValidationError as exc:
                return exc
            for segment, child, child_type in children:
                error = self._locate(child, child_type)
                if error is not None:
                    return _prefixed(segment, error)
        try:
            encoder(value)
        except Exception as exc:
            return _as_error(exc)
        return None


default_codec = Codec()
"""The codec the framework uses."""


def encode(value: object, type_: Any = None, *, path: str = "") -> JsonValue:
    """Convert a value to JSON-compatible data with ``default_codec``.

    Args:
        value: The value.
        type_: Its declared type; ``None`` uses the value's runtime type.
        path: Where the value sits, to prefix error paths.

    Returns:
        JSON-compatible data.

    Raises:
        ValidationError: The value has no JSON form; its path names where.
    """
    return default_codec.encode(value, type_, path=path)


@overload
def decode(data: object, type_: type[T], *, path: str = "") -> T: ...


@overload
def decode(data: object, type_: Any, *, path: str = "") -> Any: ...


def decode(data: object, type_: Any, *, path: str = "") -> Any:
    """Convert JSON-compatible data to a value of the declared type with ``default_codec``.

    Args:
        data: Data as ``json.loads`` returns it.
        type_: The type to produce.
        path: Where the data sits, to prefix error paths.

    Returns:
        The value.

    Raises:
        ValidationError: The data does not fit the type.
    """
    return default_codec.decode(data, type_, path=path)
