"""JSON responses and the errors the HTTP application turns into them."""

from __future__ import annotations

import http
import json
import re
from collections.abc import Mapping

from ulid import ULID

from eventual import HttpResponse
from eventual.codec import JsonValue

__all__ = [
    "REQUEST_ID_HEADER",
    "ApiError",
    "error_response",
    "json_response",
    "reason",
    "request_id_of",
    "with_header",
]

REQUEST_ID_HEADER = "x-request-id"

# A caller's request id is reused only when it cannot corrupt a log line.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_JSON = {"content-type": "application/json"}


class ApiError(Exception):
    """An error the application answers with ``{"error": ..., "detail": ...}``.

    Attributes:
        status: The HTTP status code.
        error: A short, human-readable message.
        detail: JSON-compatible detail (a field path, allowed methods, ...).
        headers: Extra response headers (``allow``, ``www-authenticate``).
    """

    def __init__(
        self,
        status: int,
        error: str,
        detail: JsonValue = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {error}")
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = dict(headers or {})


def reason(status: int) -> str:
    """Return the standard phrase of a status code (``"Not Found"``), or ``"Error"``."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def json_response(data: JsonValue, status: int = 200) -> HttpResponse:
    r"""Return a response whose body is ``data`` (already JSON-compatible) as compact JSON.

    Text that UTF-8 cannot hold (a lone surrogate in a value stored long ago, or
    echoed in an error) is sent escaped, ``"\ud800"``, rather than failing.
    """
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        return HttpResponse(body.encode("utf-8"), status, _JSON)
    except UnicodeEncodeError:
        body = json.dumps(data, separators=(",", ":"), allow_nan=False)
        return HttpResponse(body.encode("ascii"), status, _JSON)


def error_response(
    status: int,
    error: str,
    detail: JsonValue,
    request_id: str,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """Return the JSON error body every failure uses, with the request id."""
    body = {"error": error, "detail": detail, "request_id": request_id}
    response = json_response(body, status)
    return HttpResponse(response.body, status, {**_JSON, **(headers or {})})


def request_id_of(headers: Mapping[str, str]) -> str:
    """Return the caller's ``x-request-id`` when it is safe to log, else a new ULID."""
    given = headers.get(REQUEST_ID_HEADER)
    if given is not None and _SAFE_ID.match(given):
        return given
    return str(ULID())


def with_header(response: HttpResponse, name: str, value: str) -> HttpResponse:
    """Return ``response`` with a header added unless the handler already set it."""
    headers = dict(response.headers or {})
    if any(key.lower() == name for key in headers):
        return response
    headers[name] = value
    return HttpResponse(response.body, response.status, headers)
