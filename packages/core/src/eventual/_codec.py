"""The JSON codec: typed Python values to JSON-compatible values and back.

Every value that crosses a durable boundary (workflow inputs and results, task
arguments, signals, events, command bodies, history events) goes through a
``Codec``, by its declared type.

Why cattrs: it generates one specialised function per type and caches it, so
encoding a history event costs a few calls rather than a reflective walk, and it
already knows attrs classes, dataclasses, generics, ``NewType`` and ``Annotated``.
The codec keeps cattrs for classes and dispatch, and registers its own hooks for
every leaf and container, because cattrs' defaults are lenient (``int("1")``, a
string iterated as a list, a dict iterated as its keys).

Why strict: decoded data was written by another process, an older version of the
code or an HTTP client. Coercing ``"1"`` to ``1`` or ``true`` to ``1`` hides a bug
until a replay, far from its cause. So decoding accepts a value only in the shape
``encode`` produces (an int is also a valid float), rejects unknown object keys, and
names the failing field with the names the user wrote:
``order.items[2].quantity: expected int, got "x"``. Encoding refuses what JSON
cannot hold (NaN, naive datetimes, non-string keys, arbitrary objects) and values
that do not match their declared type.

Representations: datetime as ISO 8601 text, timezone-aware, UTC written ``Z``
(``+00:00`` is read too); date as ISO text; timedelta as float seconds (exact to
the microsecond below about 70 years); bytes as base64; UUID and Decimal as their
canonical text; enums by value; tuples and sets as lists, sets sorted so that equal
sets give equal text; ``typing.Any`` as any JSON value, checked and passed through.

Unions: members are tried from the most specific to the most general, and the
first that fits wins: literals and enums; bool, int, float; attrs classes and
dataclasses (fewest fields first), containers and other types (by name); str;
``Any``. Not in the order written, because Python treats ``int | float`` and
``float | int`` as one type, which cattrs caches once. Classes are told apart by
their fields, since unknown keys are rejected. When no member fits, the error of
the member that got deepest into the value is reported, else ``expected A | B``.

Encoding does not track paths, to stay fast; when it fails, a second, slow walk
over the value finds where.
"""

from __future__ import annotations

import base64
import collections.abc
import contextlib
import dataclasses
import json
import math
import re
import types
import typing
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum, Flag
from typing import Annotated, Any, Literal, NoReturn, TypeAlias, TypeVar, Union, overload

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    ForbiddenExtraKeysError,
    IterableValidationNote,
    StructureHandlerNotFoundError,
)

from ._errors import ValidationError

__all__ = ["Codec", "JsonValue", "decode", "default_codec", "encode"]

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
"""What the ``json`` module reads and writes: null, bool, number, string, list, object."""

T = TypeVar("T")

_Decoder: TypeAlias = Callable[[Any, Any], Any]
_Encoder: TypeAlias = Callable[[Any], Any]
_Parts: TypeAlias = Callable[[Any], list[tuple[str, Any, Any]]]

_NoneType = type(None)
_PREVIEW = 60
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_LISTS = {list, tuple, collections.abc.Sequence, collections.abc.MutableSequence}
_SETS: dict[Any, Callable[[list[Any]], Any]] = {
    set: set,
    collections.abc.MutableSet: set,
    frozenset: frozenset,
    collections.abc.Set: frozenset,
}
_MAPPINGS = {dict, collections.abc.Mapping, collections.abc.MutableMapping}


# -- error messages -----------------------------------------------------------------


class _PreviewFull(Exception):
    """Stops a preview once it is long enough."""


def _show(value: object) -> str:
    """Render a value for a message: JSON-like, cut to about 60 characters."""
    parts: list[str] = []
    budget = _PREVIEW + 1

    def emit(text: str) -> None:
        nonlocal budget
        parts.append(text)
        budget -= len(text)
        if budget <= 0:
            raise _PreviewFull

    def walk(item: object) -> None:
        if item is None or type(item) is bool or type(item) is float:
            emit(json.dumps(item))
        elif type(item) is int:
            emit(str(item) if item.bit_length() < 200 else "<a very long int>")
        elif type(item) is str:
            emit(json.dumps(item[: _PREVIEW + 1], ensure_ascii=False))
        elif type(item) is list or type(item) is tuple:
            emit("[" if type(item) is list else "(")
            for index, element in enumerate(item):
                emit(", " if index else "")
                walk(element)
            emit("]" if type(item) is list else ")")
        elif type(item) is dict:
            emit("{")
            for index, (key, element) in enumerate(item.items()):
                emit(", " if index else "")
                walk(key)
                emit(": ")
                walk(element)
            emit("}")
        else:
            emit(repr(item)[: _PREVIEW + 1])

    with contextlib.suppress(_PreviewFull):
        walk(value)
    text = "".join(parts)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 3] + "..."


def _type_name(type_: Any) -> str:
    """Name a type the way the user wrote it: ``list[Item]``, ``int | None``."""
    if type_ is None or type_ is _NoneType:
        return "None"
    origin, args = typing.get_origin(type_), typing.get_args(type_)
    if _is_union(type_):
        return " | ".join(_type_name(arg) for arg in args)
    if _is_literal(type_):
        return " | ".join(_show(arg.value if isinstance(arg, Enum) else arg) for arg in args)
    if origin is Annotated:
        return _type_name(args[0])
    if origin is not None and args:
        inner = ", ".join("..." if arg is Ellipsis else _type_name(arg) for arg in args)
        return f"{getattr(origin, '__name__', origin)}[{inner}]"
    return str(getattr(type_, "__name__", None) or getattr(type_, "_name", None) or type_)


def _mismatch(expected: str, value: object) -> ValidationError:
    return ValidationError("", f"expected {expected}, got {_show(value)}")


def _key_segment(key: object) -> str:
    return f"[{json.dumps(key, ensure_ascii=False) if type(key) is str else _show(key)}]"


def _moved(path: str, error: ValidationError) -> ValidationError:
    moved = ValidationError(path, error.problem)
    moved.__cause__ = error.__cause__  # keep what a user hook originally raised
    return moved


def _prefixed(segment: str, error: ValidationError) -> ValidationError:
    """The same error, seen from one level further up."""
    path = error.path
    return _moved(segment + ("." + path if path and path[0] not in ".[" else path), error)


def _rooted(root: str, error: ValidationError) -> ValidationError:
    """The error with its path attached to the caller's root path."""
    if not root:
        return _moved(error.path.removeprefix("."), error)
    return _moved(
        root + (error.path if error.path[:1] in ("", ".", "[") else "." + error.path), error
    )


def _raise_at(segment: str, exc: Exception) -> NoReturn:
    error = _prefixed(segment, _as_error(exc))
    raise error from error.__cause__


def _as_error(exc: BaseException) -> ValidationError:
    """Turn what a hook raised into a ValidationError relative to that hook's value."""
    if isinstance(exc, ValidationError):
        return exc
    if isinstance(exc, ForbiddenExtraKeysError):
        names = ", ".join(json.dumps(name, ensure_ascii=False) for name in sorted(exc.extra_fields))
        return ValidationError("", f"unexpected field{'s' * (len(exc.extra_fields) > 1)} {names}")
    if isinstance(exc, BaseValidationError) and exc.exceptions:
        return _from_group(exc)
    if isinstance(exc, RecursionError):
        return ValidationError("", "value is nested too deeply or contains itself")
    error = ValidationError("", str(exc) or type(exc).__name__)
    error.__cause__ = exc
    return error


def _from_group(group: BaseValidationError) -> ValidationError:
    """Read cattrs' detailed validation errors: the first error and the note naming where."""
    first = group.exceptions[0]
    kinds = AttributeValidationNote | IterableValidationNote
    notes = [n for n in getattr(first, "__notes__", ()) if isinstance(n, kinds)]  # the last is ours
    if notes and isinstance(notes[-1], AttributeValidationNote):
        if type(first) is KeyError and first.args:
            return ValidationError("", f"missing required field {_show(first.args[0])}")
        return _prefixed(f".{notes[-1].name}", _as_error(first))
    if notes and isinstance(notes[-1], IterableValidationNote):
        index = notes[-1].index
        return _prefixed(
            _key_segment(index) if type(index) is str else f"[{index}]", _as_error(first)
        )
    inner = _as_error(first)
    if inner.path or isinstance(first, ForbiddenExtraKeysError | ValidationError):
        return inner
    error = ValidationError("", f"invalid {_type_name(group.cl)}: {inner.problem}")
    error.__cause__ = first  # e.g. an attrs validator
    return error


# -- type predicates ----------------------------------------------------------------


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


def _specificity(type_: Any) -> tuple[int, int, str]:
    """Order union members from the most specific to the most general.

    Python treats ``A | B`` and ``B | A`` as one type (and cattrs caches by type), so
    the order the user wrote cannot decide: a fixed order makes equal unions decode
    alike. Classes with fewer fields go first, so a value encoded from a class with
    more fields never decodes as a smaller class that happens to fit.
    """
    if _is_literal(type_) or _is_enum(type_):
        return (0, 0, _type_name(type_))
    if type_ in (bool, int, float):
        return (1, (bool, int, float).index(type_), "")
    if type_ is str or _is_runtime(type_) or type_ is _NoneType:
        return (3 if type_ is str else 4 if type_ is _NoneType else 5, 0, "")
    cls = _origin(type_)
    size = (
        len(attrs.fields(cls) if attrs.has(cls) else dataclasses.fields(cls))
        if _is_record(type_)
        else 0
    )
    return (2, size, _type_name(type_))


def _exactly(cls: type) -> Callable[[Any], bool]:
    return lambda type_: type_ is cls


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


# -- leaves -------------------------------------------------------------------------


def _check_json(data: object) -> None:
    """Check that data is plain JSON (for ``Any``), naming the first part that is not."""
    if type(data) is str or type(data) is int or type(data) is bool or data is None:
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
        return value
    if isinstance(value, str):
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


def _decode_elements(data: list[Any], hooks: list[tuple[Any, _Decoder]]) -> list[Any]:
    result = []
    for index, (element, (item_type, item)) in enumerate(zip(data, hooks, strict=True)):
        try:
            result.append(item(element, item_type))
        except Exception as exc:
            _raise_at(f"[{index}]", exc)
    return result


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


# -- the codec ----------------------------------------------------------------------


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

    # -- hooks

    def _register_leaves(self) -> None:
        converter = self._converter
        # cattrs puts str, bytes, int and float in singledispatch, which also matches
        # their subclasses (bool, IntEnum, str enums): these hooks route those on.
        for base, check in ((int, _int_value), (float, _float_value), (str, _str_value)):
            converter.register_structure_hook(base, self._primitive_decoder(base, check))
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
        converter.register_unstructure_hook_factory(_is_enum, self._enum_encoder)
        converter.register_structure_hook_factory(_is_literal, _literal_decoder)
        converter.register_unstructure_hook_func(_is_literal, self._encode_runtime)

    def _register_containers(self) -> None:
        converter = self._converter
        converter.register_structure_hook_factory(_is_record, self._record_decoder)
        converter.register_unstructure_hook_factory(_is_record, self._record_encoder)
        is_items = lambda t: _origin(t) in _LISTS or _origin(t) in _SETS  # noqa: E731
        converter.register_structure_hook_factory(is_items, self._items_decoder)
        converter.register_unstructure_hook_factory(is_items, self._items_encoder)
        converter.register_unstructure_hook_factory(_is_hetero_tuple, self._tuple_encoder)
        is_mapping = lambda t: _origin(t) in _MAPPINGS  # noqa: E731
        converter.register_structure_hook_factory(is_mapping, self._mapping_decoder)
        converter.register_unstructure_hook_factory(is_mapping, self._mapping_encoder)
        converter.register_structure_hook_factory(_is_union, self._union_decoder)
        # Registered last, so that they win: JsonValue is a union too.
        converter.register_structure_hook_func(_is_runtime, _decode_any)
        converter.register_unstructure_hook_func(_is_runtime, self._encode_runtime)

    def _primitive_decoder(self, base: type, check: Callable[[object], object]) -> _Decoder:
        subclass_decoders = self._subclass_decoders

        def decode_primitive(data: object, type_: Any) -> object:
            if type_ is base:
                return check(data)
            decoder = subclass_decoders.get(type_)
            if decoder is None:
                decoder = _enum_decoder(type_) if _is_enum(type_) else lambda d, t: t(check(d))
                subclass_decoders[type_] = decoder
            return decoder(data, type_)

        return decode_primitive

    def _record_decoder(self, type_: Any) -> _Decoder:
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

    def _items_decoder(self, type_: Any) -> _Decoder:
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

    def _mapping_decoder(self, type_: Any) -> _Decoder:
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

    def _union_decoder(self, type_: Any) -> _Decoder:
        members = sorted(typing.get_args(type_), key=_specificity)
        hooks = [(m, self._converter.get_structure_hook(m)) for m in members if m is not _NoneType]
        accepts_none, expected = _NoneType in members, " | ".join(map(_type_name, members))
        if len(hooks) == 1:
            ((member, only),) = hooks
            return lambda data, _: None if data is None else only(data, member)

        def decode_union(data: object, _: Any) -> object:
            if data is None and accepts_none:
                return None
            failures = []
            for member, hook in hooks:
                try:
                    return hook(data, member)
                except Exception as exc:
                    failures.append(_as_error(exc))
            deepest = max(failures, key=lambda e: e.path.count(".") + e.path.count("["))
            if deepest.path:
                raise deepest from deepest.__cause__
            raise _mismatch(expected, data)

        return decode_union

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

    def _enum_encoder(self, cls: type[Enum]) -> _Encoder:
        return _instance_encoder(cls, _enum_value)

    def _record_encoder(self, type_: Any) -> _Encoder:
        encode_record: _Encoder = self._converter.gen_unstructure_attrs_fromdict(type_)
        cls, expected, fields = _origin(type_), _type_name(type_), _record_fields(type_)

        def parts(value: object) -> list[tuple[str, Any, Any]]:
            if not isinstance(value, cls):
                raise _mismatch(expected, value)
            return [(f".{name}", getattr(value, name), kind) for name, kind in fields]

        self._parts[encode_record] = parts
        return encode_record

    def _items_encoder(self, type_: Any) -> _Encoder:
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

    def _tuple_encoder(self, type_: Any) -> _Encoder:
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

    def _mapping_encoder(self, type_: Any) -> _Encoder:
        args = typing.get_args(type_)
        key_type, value_type = args if len(args) == 2 else (Any, Any)
        encode_key, item = (self._converter.get_unstructure_hook(t) for t in (key_type, value_type))
        expected = _type_name(type_)

        def key(raw: object) -> str:
            if type(raw) is str:
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
