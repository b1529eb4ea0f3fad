"""Hooks for leaves: the types that are one JSON value, and ``Any``.

Representations: datetime as ISO 8601 text, timezone-aware, UTC written ``Z``
(``+00:00`` is read too); date as ISO text; timedelta as float seconds (exact to
the microsecond below about 70 years); bytes as base64; UUID and Decimal as their
canonical text; enums by value; ``typing.Any`` as any JSON value, checked and
passed through.
"""

from __future__ import annotations

import base64
import math
import re
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum, Flag
from typing import Any

from .._errors import ValidationError
from ._errors import _key_segment, _mismatch, _raise_at, _show
from ._limits import check_text
from ._types import JsonValue, T, _Decoder, _Encoder, _is_enum

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _check_json(data: object) -> None:
    """Check that data is plain JSON (for ``Any``), naming the first part that is not."""
    if type(data) is str:
        check_text(data)
        return
    if type(data) is int or type(data) is bool or data is None:
        return
    if type(data) is float:
        if not math.isfinite(data):
            raise ValidationError("", f"expected a finite number, got {data!r}")
    elif type(data) is list:
        for index, item in enumerate(data):
            try:
                _check_json(item)
            except ValidationError as exc:
                _raise_at(f"[{index}]", exc)
    elif type(data) is dict:
        for key, item in data.items():
            if type(key) is not str:
                raise ValidationError("", f"object keys must be strings, got {_show(key)}")
            try:
                check_text(key)
                _check_json(item)
            except ValidationError as exc:
                _raise_at(_key_segment(key), exc)
    else:
        raise _mismatch("a JSON value", data)


def _decode_any(data: object, _: Any) -> object:
    _check_json(data)
    return data


def _decode_none(data: object, _: Any) -> None:
    if data is not None:
        raise _mismatch("None", data)


def _decode_bool(data: object, _: Any) -> bool:
    if data is True or data is False:
        return data
    raise _mismatch("bool", data)


def _int_value(data: object) -> int:
    if type(data) is int:
        return data
    raise _mismatch("int", data)


def _float_value(data: object) -> float:
    if type(data) is float and math.isfinite(data):
        return data
    if type(data) is int:
        try:
            return float(data)
        except OverflowError:
            raise ValidationError("", f"number out of range for float: {_show(data)}") from None
    raise _mismatch("finite float" if type(data) is float else "float", data)


def _str_value(data: object) -> str:
    if type(data) is str:
        check_text(data)
        return data
    raise _mismatch("str", data)


def _decode_timedelta(data: object, _: Any) -> timedelta:
    if type(data) is int or type(data) is float:
        try:
            return timedelta(seconds=data)
        except (OverflowError, ValueError):
            raise ValidationError("", f"duration out of range: {_show(data)} seconds") from None
    raise _mismatch("duration in seconds", data)


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.utcoffset() is None:
        raise _mismatch("timezone-aware datetime (add an offset such as Z)", text)
    return value


def _parse_decimal(text: str) -> Decimal:
    if not _DECIMAL.fullmatch(text):
        raise ValueError(text)
    try:
        return Decimal(text)
    except ArithmeticError:  # decimal.InvalidOperation
        raise ValueError(text) from None


def _text_decoder(parse: Callable[[str], object], expected: str) -> _Decoder:
    def decode_text(data: object, _: Any) -> object:
        if type(data) is str:
            try:
                return parse(data)
            except ValidationError:
                raise
            except ValueError:  # binascii.Error is one too
                pass
        raise _mismatch(expected, data)

    return decode_text


def _encode_none(value: object) -> None:
    if value is not None:
        raise _mismatch("None", value)


def _encode_bool(value: object) -> bool:
    if value is True or value is False:
        return value
    raise _mismatch("bool", value)


def _encode_int(value: object) -> int:
    if type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)  # an IntEnum member, say
    raise _mismatch("int", value)


def _encode_float(value: object) -> float:
    if type(value) is float and value - value == 0.0:  # false for NaN and infinities
        return value
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _mismatch("float", value)
    try:
        number = float(value)
    except OverflowError:
        raise ValidationError("", f"number out of range for float: {_show(value)}") from None
    if math.isfinite(number):
        return number
    raise ValidationError("", f"cannot encode {value!r}: JSON has no NaN or infinity")


def _encode_str(value: object) -> str:
    if type(value) is str:
        check_text(value)
        return value
    if isinstance(value, str):
        check_text(value)
        return str.__str__(value)  # a plain str, also for str-valued enum members
    raise _mismatch("str", value)


def _datetime_text(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        raise ValidationError("", "naive datetime; use a timezone-aware datetime")
    if not offset or offset.microseconds:  # CPython misreads offsets such as +00:00:00.000001
        return value.astimezone(UTC).isoformat()[:-6] + "Z"
    return value.isoformat()


def _date_text(value: date) -> str:
    if isinstance(value, datetime):
        raise _mismatch("date", value)
    return value.isoformat()


def _decimal_text(value: Decimal) -> str:
    if value.is_finite():
        return str(value)
    raise ValidationError("", f"cannot encode {value!r}: only finite decimals have a JSON form")


def _parse_base64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _base64_text(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _instance_encoder(cls: type[T], convert: Callable[[T], JsonValue]) -> _Encoder:
    def encode_instance(value: object) -> JsonValue:
        if isinstance(value, cls):
            return convert(value)
        raise _mismatch(cls.__name__, value)

    return encode_instance


def _enum_value(member: Enum) -> JsonValue:
    raw: object = member.value
    if type(raw) is str or type(raw) is int or type(raw) is bool or raw is None:
        return raw
    if type(raw) is float and math.isfinite(raw):
        return raw
    raise ValidationError(
        "", f"cannot encode {member!r}: enum values must be str, int, float, bool or None"
    )


def _enum_decoder(cls: type[Enum]) -> _Decoder:
    """Decode a member from its value; the value's JSON type must match exactly."""
    lookup: dict[tuple[type, object], Enum] = {}
    for member in cls.__members__.values():
        try:
            lookup.setdefault((type(member.value), member.value), member)
        except TypeError:  # an unhashable value cannot come from JSON anyway
            continue
    has_float, is_flag = any(kind is float for kind, _ in lookup), issubclass(cls, Flag)
    values = [member.value for member in cls]
    choices = ", ".join(_show(value) for value in values[:10]) + ", ..." * (len(values) > 10)
    expected = f"{cls.__name__} (one of {choices})"

    def decode_enum(data: object, _: Any) -> Enum:
        try:
            return lookup[(type(data), data)]
        except (KeyError, TypeError):
            pass
        if type(data) is int and has_float and (float, float(data)) in lookup:
            return lookup[(float, float(data))]
        if type(data) is int and is_flag:
            try:
                return cls(data)  # a combination of flags
            except ValueError:
                pass
        raise _mismatch(expected, data)

    return decode_enum


def _literal_decoder(type_: Any) -> _Decoder:
    lookup: dict[tuple[type, object], object] = {}
    for choice in typing.get_args(type_):
        raw = choice.value if isinstance(choice, Enum) else choice
        lookup.setdefault((type(raw), raw), choice)
    expected = "one of " + ", ".join(_show(raw) for _, raw in lookup)

    def decode_literal(data: object, _: Any) -> object:
        try:
            return lookup[(type(data), data)]
        except (KeyError, TypeError):
            raise _mismatch(expected, data) from None

    return decode_literal


def _enum_encoder(cls: type[Enum]) -> _Encoder:
    return _instance_encoder(cls, _enum_value)


def _primitive_decoder(
    base: type, check: Callable[[object], object], subclass_decoders: dict[Any, _Decoder]
) -> _Decoder:
    """Decode ``base`` strictly, and its subclasses (IntEnum, str enums) via ``check``.

    A subclass's decoder is built on first use and kept in ``subclass_decoders``.
    """

    def decode_primitive(data: object, type_: Any) -> object:
        if type_ is base:
            return check(data)
        decoder = subclass_decoders.get(type_)
        if decoder is None:
            decoder = _enum_decoder(type_) if _is_enum(type_) else lambda d, t: t(check(d))
            subclass_decoders[type_] = decoder
        return decoder(data, type_)

    return decode_primitive
