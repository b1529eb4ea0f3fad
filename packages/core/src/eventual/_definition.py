"""What every user definition (workflow, task, signal, ...) has in common."""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from datetime import timedelta
from typing import Any

__all__ = [
    "Definition",
    "check_name",
    "positive_duration_or_none",
    "positive_int_or_none",
    "resolved_hints",
    "source_of",
]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")


def check_name(kind: str, name: object) -> str:
    """Return ``name`` if it is a valid definition name, else raise a clear error.

    Names appear in URLs, execution ids and AWS resource names, so they are kept
    to letters, digits, ``_``, ``-`` and ``.``; ``/`` is reserved as the separator
    of execution ids.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"invalid {kind} name {name!r}: use 1-128 letters, digits, '_', '-' or '.', "
            "starting with a letter or '_'"
        )
    return name


def positive_duration_or_none(what: str, value: timedelta | float | None) -> timedelta | None:
    """Return ``value`` (a timedelta or seconds) as a positive ``timedelta``, or ``None``."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValueError(f"{what} must be a positive timedelta or number of seconds, got {value!r}")
    return value


def positive_int_or_none(what: str, value: object) -> int | None:
    """Return ``value`` if it is ``None`` or a positive integer, else raise a clear error.

    Deployment options (``memory=``, ``concurrency=``) are checked here, where the
    definition is written; whether a deploy target offers the value is its own check.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return value


def source_of(fn: Callable[..., Any]) -> str:
    """Return ``module:qualname`` of a function, for messages and the manifest."""
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"


def resolved_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """Return the function's type hints, resolving string annotations.

    Resolved lazily (not at decoration time) because a definition may name a class
    declared further down its module.
    """
    try:
        return typing.get_type_hints(fn)
    except NameError as error:
        raise TypeError(f"cannot resolve the type hints of {source_of(fn)}: {error}") from error


def parameters(fn: Callable[..., Any]) -> list[inspect.Parameter]:
    """Return the parameters of ``fn``, rejecting ``*args``/``**kwargs``.

    Arguments are recorded in history by name and position, so every parameter
    must be named.
    """
    params = list(inspect.signature(fn).parameters.values())
    for p in params:
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise TypeError(
                f"{source_of(fn)} takes *{p.name}; durable calls need named parameters only"
            )
    return params


class Definition:
    """Base class of the module-level objects a service is made of.

    Attributes:
        kind: ``"workflow"``, ``"task"``, ``"signal"``, ``"event"``,
            ``"subscription"``, ``"command"``, ``"route"`` or ``"middleware"``.
        name: Unique among definitions of the same kind in one service.
        source: Where it was defined, ``module:qualname``.
    """

    kind: typing.ClassVar[str] = "definition"
    name: str
    source: str
