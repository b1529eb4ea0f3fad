"""The api function: API Gateway HTTP API (payload 2.0) events served by the orders example."""

from __future__ import annotations

import base64
import importlib
import json
from collections.abc import AsyncIterator
from typing import Any

import boto3
import pytest

from eventual import ExecutionStatus
from eventual.spi import ExecutionFilter
from eventual_aws._lambda import close_runtimes

from .handlers_support import Deployed


@pytest.fixture
async def orders(
    endpoint: str, session: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Deployed]:
    """The orders example's plan provisioned on moto (its stock and audit log left as found)."""
    service = importlib.import_module("orders.service")
    monkeypatch.setattr(service, "STOCK", dict(service.STOCK))
    monkeypatch.setattr(service, "AUDIT_LOG", list(service.AUDIT_LOG))
    yield await Deployed("orders.service", endpoint, session).provision()
    await close_runtimes()


def http_event(
    method: str,
    path: str,
    *,
    body: bytes | str | None = None,
    query: str = "",
    headers: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    binary: bool = False,
    stage: str = "$default",
) -> dict[str, Any]:
    """Return an API Gateway HTTP API payload 2.0 event, as API Gateway sends it."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "abc.execute-api.us-east-1.amazonaws.com", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc",
            "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "test",
            },
            "requestId": "gw-request-1",
            "stage": stage,
        },
        "isBase64Encoded": binary,
    }
    if cookies:
        event["cookies"] = cookies
    if body is not None:
        raw = body.encode() if isinstance(body, str) else body
        event["body"] = base64.b64encode(raw).decode() if binary else raw.decode()
    return event


def json_body(answer: dict[str, Any]) -> Any:
    """Return the JSON body of an API Gateway answer."""
    raw = answer["body"]
    return json.loads(base64.b64decode(raw) if answer.get("isBase64Encoded") else raw)


async def test_a_command_through_the_api_function_starts_a_workflow(orders: Deployed) -> None:
    """POST /_rpc/place_order starts fulfil; its task runs and a system-API signal moves it on."""
    order = {"id": "o1", "item": "book", "quantity": 1}
    answer = await orders.invoke(
        "api",
        http_event(
            "POST",
            "/_rpc/place_order",
            body=json.dumps(order),
            headers={"content-type": "application/json"},
        ),
    )
    assert answer["statusCode"] == 200
    assert json_body(answer) == "fulfil/o1"
    assert answer["headers"]["x-request-id"] == "gw-request-1"
    await orders.pump()
    client = orders.runtime().client
    types = [event.type for event in await client.execution_history("fulfil/o1")]
    assert "TaskSucceeded" in types
    # The system API answers without a token: API Gateway checked the IAM signature.
    signal = await orders.invoke(
        "api",
        http_event(
            "POST",
            "/_eventual/executions/fulfil/o1/signals/approval",
            body="true",
            headers={"content-type": "application/json"},
        ),
    )
    assert signal["statusCode"] == 202
    await orders.pump()
    types = [event.type for event in await client.execution_history("fulfil/o1")]
    assert "SignalReceived" in types
    assert types[-1] == "TimerScheduled"  # the shipping delay
    assert (await client.execution_record("fulfil/o1")).status is ExecutionStatus.RUNNING


async def test_a_retried_start_through_the_api_function_starts_once(orders: Deployed) -> None:
    """A start sent twice with one Idempotency-Key is answered from DynamoDB the second time."""
    body = json.dumps({"workflow": "fulfil", "input": {"id": "k1", "item": "pen", "quantity": 1}})
    headers = {"content-type": "application/json", "idempotency-key": "start-k1"}
    answers = [
        await orders.invoke(
            "api", http_event("POST", "/_eventual/executions", body=body, headers=headers)
        )
        for _ in range(2)
    ]
    assert [answer["statusCode"] for answer in answers] == [201, 201]
    assert json_body(answers[1]) == json_body(answers[0])
    assert answers[1]["headers"]["idempotent-replayed"] == "true"
    changed = http_event(
        "POST", "/_eventual/executions", body=body.replace("pen", "ink"), headers=headers
    )
    assert (await orders.invoke("api", changed))["statusCode"] == 422
    page = await orders.runtime().client.executions(ExecutionFilter(workflow="fulfil"))
    assert [record.id for record in page.executions] == [json_body(answers[0])["id"]]


async def test_routes_get_their_path_query_cookies_and_request_id(orders: Deployed) -> None:
    """A route sees its path parameter, the raw query and cookies; a caller's request id is kept."""
    answer = await orders.invoke(
        "api",
        http_event(
            "GET",
            "/prod/orders/o7",
            query="a=1&a=2",
            cookies=["session=s1", "theme=dark"],
            headers={"x-request-id": "caller-7"},
            stage="prod",
        ),
    )
    assert answer["statusCode"] == 200
    assert json_body(answer) == {"id": "o7"}
    assert answer["headers"]["x-request-id"] == "caller-7"
    missing = await orders.invoke("api", http_event("GET", "/orders/missing"))
    assert missing["statusCode"] == 404
    assert json_body(missing)["request_id"] == "gw-request-1"


async def test_a_binary_body_arrives_decoded(orders: Deployed) -> None:
    """A base64-encoded body is decoded: bytes that are not JSON get the command's 400."""
    answer = await orders.invoke(
        "api",
        http_event(
            "POST",
            "/_rpc/place_order",
            body=b"\xff\xfe\x00binary",
            binary=True,
            headers={"content-type": "application/json"},
        ),
    )
    assert answer["statusCode"] == 400


async def test_an_oversized_body_is_refused_with_413(orders: Deployed) -> None:
    """A body over Lambda's 6 MB is refused before any command runs."""
    body = json.dumps({"id": "o2", "item": "x" * (6 * 1024 * 1024), "quantity": 1})
    answer = await orders.invoke(
        "api",
        http_event(
            "POST", "/_rpc/place_order", body=body, headers={"content-type": "application/json"}
        ),
    )
    assert answer["statusCode"] == 413


async def test_the_openapi_document_is_served(orders: Deployed) -> None:
    """GET /_eventual/openapi.json answers the document listing the service's command."""
    answer = await orders.invoke("api", http_event("GET", "/_eventual/openapi.json"))
    assert answer["statusCode"] == 200
    assert "/_rpc/place_order" in json_body(answer)["paths"]


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ({"version": "1.0", "httpMethod": "GET", "path": "/"}, "payload_format_version to 2.0"),
        ({"version": "2.0", "rawPath": "/"}, "no requestContext.http.method"),
        (
            {"version": "2.0", "requestContext": {"http": {"method": "GET"}}},
            "no rawPath",
        ),
        (
            {
                "version": "2.0",
                "rawPath": "/",
                "body": "***",
                "isBase64Encoded": True,
                "requestContext": {"http": {"method": "POST"}},
            },
            "not base64",
        ),
    ],
)
async def test_an_event_of_the_wrong_shape_gets_a_clear_error(
    orders: Deployed, event: dict[str, Any], problem: str
) -> None:
    """An event API Gateway would not send is answered 500 naming what is wrong with it."""
    answer = await orders.invoke("api", event)
    assert answer["statusCode"] == 500
    assert problem in json_body(answer)["error"]
