"""Reading the system API's query, path and body parameters, with 400s naming them.

Every value is bounded before use: a position or a limit of thousands of digits,
an execution name of megabytes or a task token of any length is a 400 naming
the parameter, never an error deep in a backend.
"""

from __future__ import annotations

from typing import Any, Final

from eventual import EventualError, HttpRequest, ValidationError
from eventual.codec import JsonValue, decode
from eventual.spi import execution_id

from .._ids import parse_task_token
from ._inputs import invalid, parse_json
from ._responses import ApiError

__all__ = [
    "LIMIT_SCHEMA",
    "MAX_LIMIT",
    "MAX_NAME",
    "MAX_POSITION",
    "MAX_TOKEN",
    "check_name",
    "check_token",
    "path_execution_id",
    "query_int",
    "query_seconds",
    "read_body",
    "shown",
    "unreadable_cursor",
]

MAX_POSITION: Final = 2**53 - 1
"""The largest history position (``after``): the largest integer JSON clients keep exact."""
MAX_NAME: Final = 256
"""The longest workflow, signal or event name accepted in a path or body."""
MAX_TOKEN: Final = 1024
"""The longest task token accepted (an execution id, two numbers and a mac)."""
MAX_LIMIT: Final = 1000
"""The most items one page of executions or dead letters holds."""
LIMIT_SCHEMA: Final[dict[str, JsonValue]] = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}


def shown(text: str, limit: int = 40) -> str:
    """Quote text for an error message, cut to ``limit`` characters."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"


def read_body(request: HttpRequest, type_: Any) -> Any:
    """Return the JSON body decoded by ``type_`` (400 naming the field otherwise)."""
    data = parse_json(request.body)
    try:
        return decode(data, type_, path="body")
    except ValidationError as exc:
        raise invalid(exc.path, exc.problem) from None


def query_int(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    """Return an integer query parameter between ``low`` and ``high``, or ``default``."""
    text = request.query.get(name)
    if text is None:
        return default
    # Digits only, and few of them: int() of thousands of digits is refused (or slow).
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(high)) + 1:
        raise invalid(
            f"query.{name}", f"expected an integer from {low} to {high}, got {shown(text)}"
        )
    value = int(text)
    if not low <= value <= high:
        raise invalid(f"query.{name}", f"must be between {low} and {high}, got {value}")
    return value


def query_seconds(request: HttpRequest, name: str, high: float) -> float:
    """Return a long-poll's wait, capped at ``high``: the client asks again after it."""
    text = request.query.get(name)
    if text is None:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise invalid(f"query.{name}", f"expected seconds, got {shown(text)}") from None
    if not value >= 0:  # also refuses NaN
        raise invalid(f"query.{name}", f"must be 0 or more seconds, got {shown(text)}")
    return min(value, high)


def check_name(where: str, name: str, what: str) -> None:
    """Refuse a workflow, signal or event name longer than any definition's.

    Raises:
        ApiError: 400 naming ``where``.
    """
    if len(name) > MAX_NAME:
        raise invalid(where, f"{what} name {shown(name)} is longer than {MAX_NAME} characters")


def path_execution_id(request: HttpRequest) -> str:
    """Return the execution id of a ``/executions/{workflow}/{name}`` path."""
    check_name("path.workflow", request.params["workflow"], "workflow")
    try:
        return execution_id(request.params["workflow"], request.params["name"])
    except ValidationError as exc:
        raise invalid("path.name", exc.problem) from None


def check_token(token: str) -> None:
    """Refuse what is not a task token, before looking it up.

    Raises:
        ApiError: 400 naming ``body.token``.
    """
    if len(token) > MAX_TOKEN:
        raise invalid("body.token", f"not a task token: {shown(token)} is too long")
    try:
        parse_task_token(token)
    except EventualError:
        raise invalid("body.token", f"not a task token: {shown(token)}") from None


def unreadable_cursor(cursor: str) -> ApiError:
    """Return the 400 of a list cursor this server did not give."""
    return invalid(
        "query.cursor",
        f"{shown(cursor)} is not a cursor of this list; pass the `next` of the previous "
        "page, or none for the first page",
    )
