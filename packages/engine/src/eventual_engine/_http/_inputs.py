"""From a request to a command's typed input, with 400s that name the failing field.

An RPC call (``POST /_rpc/{name}``) sends the input as the JSON body. A command
with a REST ``path`` takes its input from three places: the JSON body, the query
string and the path parameters. For a record input (an attrs class or a
dataclass) they are merged into one object, field by field; for any other input,
the body is the input, or, without a body, the only path parameter. Path and
query values are text: they are kept as strings for fields whose JSON form may be
a string and read as JSON for the others (``?quantity=3`` gives ``3``). A field
given in two places with two values is refused rather than silently picked.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from eventual import Command, HttpRequest, ValidationError
from eventual.codec import JsonValue, check_storable

from ._responses import ApiError
from ._schema import record_fields, wants_text

__all__ = ["invalid", "parse_json", "rest_input", "rpc_input", "storable"]


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes, path: str = "body") -> JsonValue:
    """Parse a request body as JSON; an empty body is ``null``.

    Args:
        body: The raw body.
        path: What the body is, to name where a value cannot be stored.

    Raises:
        ApiError: 400 ``malformed JSON`` saying where parsing stopped; 400
            ``invalid input`` naming the field that cannot be stored (a lone
            surrogate, nesting deeper than ``MAX_DEPTH``).
    """
    if not body:
        return None
    try:
        data: JsonValue = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed JSON", f"the body is not UTF-8: {exc.reason}") from None
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed JSON", str(exc)) from None
    storable(data, path)
    return data


def storable(data: JsonValue, path: str) -> None:
    """Refuse data that could not be stored (see ``eventual.codec.check_storable``).

    Raises:
        ApiError: 400 ``invalid input`` naming the field.
    """
    try:
        check_storable(data, path)
    except ValidationError as exc:
        raise invalid(exc.path, exc.problem) from None


def invalid(path: str, problem: str) -> ApiError:
    """Return the 400 for input that does not fit, naming the field."""
    return ApiError(400, "invalid input", {"path": path, "problem": problem})


def _decode(command: Command[Any, Any], data: JsonValue) -> Any:
    try:
        return command.decode_input(data)
    except ValidationError as exc:
        raise invalid(exc.path, exc.problem) from None


def rpc_input(command: Command[Any, Any], request: HttpRequest) -> Any:
    """Return the input of an RPC call: the JSON body decoded by the command's type."""
    return _decode(command, parse_json(request.body, "input"))


def _from_text(text: str, type_: Any) -> JsonValue:
    if wants_text(type_):
        return text
    try:
        value: JsonValue = json.loads(text, parse_constant=_refuse_constant)
    except ValueError:
        return text  # the decoder names the field and what it expected
    return value


def rest_input(command: Command[Any, Any], request: HttpRequest) -> Any:
    """Return the input of a REST call from its body, query and path parameters."""
    body = parse_json(request.body, "input")
    input_type = command.input_type
    fields = {name: kind for name, kind, _ in record_fields(input_type)}
    if not fields:
        if body is None and len(request.params) == 1:
            (text,) = request.params.values()
            body = _from_text(text, input_type)
            storable(body, "input")
        return _decode(command, body)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise invalid("input", f"expected an object in the body, got {type(body).__name__}")
    data = dict(body)
    origin = dict.fromkeys(data, "body")
    for source, values in (("query", request.query), ("path", request.params)):
        for key, text in values.items():
            value = _from_text(text, fields.get(key, str))
            if key in data and data[key] != value:
                raise invalid(
                    f"input.{key}",
                    f"{source} parameter {key}={text!r} contradicts the {origin[key]}'s "
                    f"{json.dumps(data[key])}",
                )
            data[key] = value
            origin[key] = f"{source} parameter"
    storable(data, "input")
    return _decode(command, data)
