"""API Gateway HTTP API (payload 2.0) events in, ``HttpApp`` answers out.

The event becomes an ASGI ``http`` scope handed to the service's ``HttpApp``,
which calls ``HttpApp.handle``: commands, routes, the system API and the OpenAPI
document answer exactly as under ``eventual local``, with the same body limit
and error shapes. What API Gateway changes on the way is undone here:

- ``rawPath`` arrives percent-decoded (a ``%2F`` is a ``/`` already, and API
  Gateway refuses it anyway); a stage other than ``$default`` is a prefix of the
  path, removed. ``rawQueryString`` is passed as it came.
- Cookies arrive in ``cookies`` (not in the ``cookie`` header) and leave in
  ``cookies`` (a response header holds one ``set-cookie``).
- Bodies arrive base64-encoded when binary (``isBase64Encoded``); a response
  body that is not UTF-8 text leaves base64-encoded.
- The caller's ``x-request-id``, when it sent one, is kept; otherwise API
  Gateway's request id is the request id responses and logs carry.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import urllib.parse
from collections.abc import Mapping, MutableMapping
from typing import Any

from ._log import log_context
from ._runtime import Runtime

__all__ = ["handle_http"]

log = logging.getLogger("eventual.aws.lambda")

_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


def _problem(status: int, error: str, request_id: str | None) -> dict[str, Any]:
    document: dict[str, Any] = {"error": error}
    if request_id:
        document["request_id"] = request_id
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(document),
        "isBase64Encoded": False,
    }


def _request_of(event: Mapping[str, Any]) -> tuple[dict[str, Any], bytes] | str:
    """Return the ASGI scope and the body of a payload 2.0 event, or what is wrong with it."""
    if event.get("version") != "2.0":
        version = event.get("version", event.get("httpMethod") and "1.0")
        return (
            f"expected an API Gateway HTTP API event of payload format 2.0, got version "
            f"{version!r}: set the integration's payload_format_version to 2.0"
        )
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, Mapping) else None
    raw_path = event.get("rawPath")
    if not isinstance(http, Mapping) or not isinstance(http.get("method"), str):
        return "the event has no requestContext.http.method"
    if not isinstance(raw_path, str) or not raw_path.startswith("/"):
        return "the event has no rawPath"
    stage = context.get("stage") if isinstance(context, Mapping) else None
    path = raw_path
    if isinstance(stage, str) and stage != "$default" and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1 :]
    headers: dict[str, str] = {}
    given = event.get("headers")
    if isinstance(given, Mapping):
        for name, value in given.items():
            if isinstance(name, str) and isinstance(value, str):
                headers[name.lower()] = value
    cookies = event.get("cookies")
    if isinstance(cookies, list) and cookies:
        headers["cookie"] = "; ".join(str(cookie) for cookie in cookies)
    request_id = context.get("requestId") if isinstance(context, Mapping) else None
    if "x-request-id" not in headers and isinstance(request_id, str) and request_id:
        headers["x-request-id"] = request_id
    body = event.get("body")
    data = b""
    if isinstance(body, str) and body:
        if event.get("isBase64Encoded"):
            try:
                data = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                return "the body is marked base64-encoded but is not base64"
        else:
            data = body.encode("utf-8", "surrogatepass")
    query = event.get("rawQueryString")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": str(http.get("protocol", "HTTP/1.1")).rpartition("/")[2] or "1.1",
        "method": http["method"].upper(),
        "scheme": "https",
        "path": path,
        "raw_path": urllib.parse.quote(path, safe=_PATH_SAFE).encode("ascii"),
        "root_path": "",
        "query_string": (query if isinstance(query, str) else "").encode("utf-8"),
        "headers": [
            (name.encode("latin-1", "replace"), value.encode("latin-1", "replace"))
            for name, value in headers.items()
        ],
        "client": (str(http.get("sourceIp", "")), 0),
        "server": (headers.get("host", "localhost"), 443),
    }
    return scope, data


def _is_text(content_type: str, body: bytes) -> bool:
    if content_type.startswith(_TEXT_TYPES) or "+json" in content_type:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    return False


async def handle_http(runtime: Runtime, event: object, context: object) -> dict[str, Any]:
    """Answer one API Gateway HTTP API (payload 2.0) event with the service's ``HttpApp``."""
    if not isinstance(event, Mapping):
        log.error("the api function got %s, not an API Gateway event", type(event).__name__)
        return _problem(
            500, "the function was invoked with something other than an API Gateway event", None
        )
    parsed = _request_of(event)
    request_context = event.get("requestContext")
    gateway_id = request_context.get("requestId") if isinstance(request_context, Mapping) else None
    if isinstance(parsed, str):
        # Not the caller's fault: the integration is configured wrongly.
        log.error("the api function cannot read its event: %s", parsed)
        return _problem(500, parsed, gateway_id if isinstance(gateway_id, str) else None)
    scope, body = parsed
    sent: dict[str, Any] = {"status": 500, "headers": [], "body": b""}
    delivered = False

    async def receive() -> MutableMapping[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
            sent["headers"] = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            sent["body"] += message.get("body", b"")

    with log_context(http_method=scope["method"], path=scope["path"]):
        await runtime.app(scope, receive, send)
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in sent["headers"]:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name == "set-cookie":
            cookies.append(value)
        elif name in headers:
            headers[name] = f"{headers[name]}, {value}"
        else:
            headers[name] = value
    data: bytes = sent["body"]
    answer: dict[str, Any] = {"statusCode": sent["status"], "headers": headers}
    if cookies:
        answer["cookies"] = cookies
    if not data or _is_text(headers.get("content-type", ""), data):
        answer["body"] = data.decode("utf-8")
        answer["isBase64Encoded"] = False
    else:
        answer["body"] = base64.b64encode(data).decode("ascii")
        answer["isBase64Encoded"] = True
    return answer
