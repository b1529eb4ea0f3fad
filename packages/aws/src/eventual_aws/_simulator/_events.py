"""The events Lambda hands a function, built as AWS builds them.

Shapes follow AWS's documentation: the SQS event of an event source mapping
(``Records`` with ``messageId``, ``receiptHandle``, ``body``, ``attributes``,
``messageAttributes``, ``eventSourceARN``), the API Gateway HTTP API payload
format 2.0, and the Lambda context object handlers read their remaining time
from.
"""

from __future__ import annotations

import base64
import re
import time
import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from .._plan import FunctionPlan, RoutePlan

__all__ = ["LambdaContext", "http_event", "match_route", "sqs_event"]


@attrs.define
class LambdaContext:
    """The context object of one invocation (the attributes Lambda's Python runtime gives)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_s: int
    aws_request_id: str = attrs.field(factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "simulator"
    _deadline: float = attrs.field(init=False, default=0.0)

    def __attrs_post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    @classmethod
    def of(cls, function: FunctionPlan, arn: str) -> LambdaContext:
        """Return a fresh context for one invocation of ``function``."""
        return cls(
            function_name=function.physical_name,
            invoked_function_arn=arn,
            memory_limit_in_mb=function.memory_mb,
            timeout_s=function.timeout_s,
            log_group_name=f"/aws/lambda/{function.physical_name}",
        )

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda would stop the invocation."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _lambda_attributes(message: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        converted: dict[str, Any] = {"dataType": value.get("DataType", "String")}
        if "StringValue" in value:
            converted["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        converted["stringListValues"] = []
        converted["binaryListValues"] = []
        found[name] = converted
    return found


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """Return the Lambda event of an SQS batch, from ``ReceiveMessage``'s messages."""
    records = []
    for message in messages:
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes") or {}),
                "messageAttributes": _lambda_attributes(message),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def _template_regex(path: str) -> str:
    parts = []
    for segment in path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(f"(?P<{segment[1:-2]}>.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return "/" + "/".join(parts)


def match_route(
    routes: Sequence[RoutePlan], method: str, path: str
) -> tuple[RoutePlan, dict[str, str]] | None:
    """Return the route API Gateway would choose for a request, and its path parameters.

    API Gateway prefers the most specific route: a path without variables over
    one with them, a greedy ``{proxy+}`` last, and a route of the request's
    method over ``ANY``.
    """
    candidates: list[tuple[tuple[int, int, int], RoutePlan, dict[str, str]]] = []
    for route in routes:
        if route.method not in (method.upper(), "ANY"):
            continue
        found = re.fullmatch(_template_regex(route.path), path)
        if found is None:
            continue
        greedy = int("+}" in route.path)
        variables = route.path.count("{")
        rank = (greedy, variables, int(route.method == "ANY"))
        candidates.append((rank, route, dict(found.groupdict())))
    if not candidates:
        return None
    _, route, parameters = min(candidates, key=lambda candidate: candidate[0])
    return route, parameters


def http_event(
    *,
    route: RoutePlan,
    parameters: Mapping[str, str],
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    api_id: str,
    account: str,
) -> dict[str, Any]:
    """Return the API Gateway HTTP API (payload 2.0) event of one request."""
    lowered: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers.items():
        if name.lower() == "cookie":
            cookies += [part.strip() for part in value.split(";") if part.strip()]
        else:
            lowered[name.lower()] = value
    now = datetime.now(UTC)
    text_body: str | None = None
    encoded = False
    if body:
        try:
            text_body = body.decode("utf-8")
        except UnicodeDecodeError:
            text_body, encoded = base64.b64encode(body).decode(), True
    query_parameters: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        # API Gateway joins repeated parameters with commas.
        query_parameters[name] = (
            f"{query_parameters[name]},{value}" if name in query_parameters else value
        )
    request_id = uuid.uuid4().hex
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": account,
            "apiId": api_id,
            "domainName": f"{api_id}.execute-api.localhost",
            "domainPrefix": api_id,
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if cookies:
        event["cookies"] = cookies
    if query_parameters:
        event["queryStringParameters"] = query_parameters
    if parameters:
        event["pathParameters"] = dict(parameters)
    if text_body is not None:
        event["body"] = text_body
    return event
