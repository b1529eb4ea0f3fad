"""The orders service's HTTP API checked against its own OpenAPI document by schemathesis.

Every operation of the document (the commands, the route and the system API)
gets generated requests, valid and invalid, and every answer must conform: no
5xx, only documented statuses, bodies matching their schemas, invalid input
refused. The service runs in a test environment (with its event bus, so dead
letters are served), behind ``HttpApp`` as ``eventual local`` serves it on
loopback: only loopback host names, no token. The run is repeatable (25
derandomized examples per operation); ``EVENTUAL_FUZZ_EXAMPLES=300`` explores
further, with fresh random examples.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from eventual import Service
from eventual_engine import BackendClient, HttpApp, HttpOptions, MemoryBackend
from eventual_testing import TestEnvironment

BASE_URL = "http://localhost"
OPTIONS = HttpOptions(max_wait=0.05, allowed_hosts=HttpOptions.LOOPBACK_HOSTS)

# Schema-valid requests these operations refuse on purpose, for reasons no schema
# states: place_order names its execution after the order id (an empty id is a
# 400), a list cursor must be one a previous page gave, and a task token must be
# one task_info() gave (its signature is checked, and a token of no execution is
# refused the same way, so the answer does not tell which executions exist).
SEMANTIC_REFUSALS = {
    "POST /_rpc/place_order",
    "GET /_eventual/executions",
    "POST /_eventual/tasks/complete",
    "POST /_eventual/tasks/fail",
}


@attrs.frozen
class Served:
    """The service's HTTP application and the event loop its engine lives in."""

    app: HttpApp
    runner: asyncio.Runner

    def send(self, request: dict[str, Any]) -> httpx.Response:
        """Answer one request in process, on the engine's loop."""
        return self.runner.run(self._send(request))

    async def _send(self, request: dict[str, Any]) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        cookies = request.pop("cookies", None)
        async with httpx.AsyncClient(
            transport=transport, base_url=BASE_URL, cookies=cookies
        ) as client:
            return await client.request(**request)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """The orders service in a test environment, served as on loopback without a token."""
    with asyncio.Runner() as runner:
        env = TestEnvironment("orders.service")
        runner.run(env.__aenter__())
        try:
            yield Served(HttpApp(env.engine, options=OPTIONS), runner)
        finally:
            runner.run(env.__aexit__(None, None, None))


# The document depends only on the service and the options, so the one a client
# would fetch is built here, without running anything, to generate the tests.
DOCUMENT = HttpApp(BackendClient(Service.load("orders.service"), MemoryBackend()), options=OPTIONS)
schema = schemathesis.openapi.from_dict(DOCUMENT.openapi())


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("EVENTUAL_FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize="EVENTUAL_FUZZ_EXAMPLES" not in os.environ,  # the suite is repeatable
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_conforms_to_the_document(case: schemathesis.Case, served: Served) -> None:
    """Generated requests to every operation get documented, schema-conforming answers."""
    request = case.as_transport_kwargs(base_url=BASE_URL)
    request.pop("verify", None)
    if "data" in request:
        request["content"] = request.pop("data")
    if request.get("headers"):
        # On the wire a header is bytes: generated text (an Idempotency-Key outside
        # its pattern) is sent as UTF-8, which httpx would refuse as a str.
        request["headers"] = {name: value.encode() for name, value in request["headers"].items()}
    assert served.app.openapi() == DOCUMENT.openapi()
    response = served.send(request)
    assert response.status_code < 500, response.text
    # A generated Idempotency-Key is reused by later requests with other bodies,
    # which a server must refuse (422) for a reason no schema states.
    keyed = any(name.lower() == "idempotency-key" for name in case.headers or {})
    semantic = keyed or case.operation.label in SEMANTIC_REFUSALS
    excluded = [positive_data_acceptance] if semantic else []
    case.validate_response(response, excluded_checks=excluded)


def test_the_document_states_the_bounds_and_the_auth_it_enforces(served: Served) -> None:
    """The document gives limit, wait and after their bounds, and no bearer auth without a token."""
    document = served.app.openapi()
    listing = document["paths"]["/_eventual/executions"]["get"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 1000)
    history = document["paths"]["/_eventual/executions/{workflow}/{name}/history"]["get"]
    bounds = {p["name"]: p["schema"].get("minimum") for p in history["parameters"]}
    assert (bounds["wait"], bounds["after"]) == (0, 0)
    assert "securitySchemes" not in document["components"]
    assert "security" not in listing
    secured = HttpApp(served.app.engine, options=HttpOptions(token="t")).openapi()
    assert secured["paths"]["/_eventual/executions"]["get"]["security"] == [{"bearer": []}]
