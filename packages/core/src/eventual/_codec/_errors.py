"""Error messages and paths: what went wrong, shown with the names the user wrote.

The class raised is ``eventual.ValidationError``; this module builds its ``path``
(``order.items[2].quantity``) and ``problem`` (``expected int, got "x"``), and turns
what a hook or cattrs raised into one, relative to the value that hook was given.
"""

from __future__ import annotations

import contextlib
import json
import re
import typing
from enum import Enum
from typing import Annotated, Any, NoReturn

from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    ForbiddenExtraKeysError,
    IterableValidationNote,
)

from .._errors import ValidationError
from ._types import _is_literal, _is_union, _NoneType

_PREVIEW = 60
_SURROGATES = re.compile("[\ud800-\udfff]")


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
            emit(_text(item[: _PREVIEW + 1]))
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


def _text(value: str) -> str:
    """Quote text as JSON, escaping it all when it holds a lone surrogate (unprintable)."""
    quoted = json.dumps(value, ensure_ascii=False)
    return quoted if quoted.isascii() or not _SURROGATES.search(quoted) else json.dumps(value)


def _key_segment(key: object) -> str:
    return f"[{_text(key) if type(key) is str else _show(key)}]"


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
