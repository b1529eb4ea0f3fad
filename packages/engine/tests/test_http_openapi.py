"""The OpenAPI 3.1 document: valid, with schemas derived from command types."""

from __future__ import annotations

import dataclasses
from typing import Any

import attrs
import httpx
from openapi_spec_validator import validate

from eventual import HttpRequest, HttpResponse, Service, api, command
from eventual_engine import Engine, HttpApp, HttpOptions, MemoryBackend


@attrs.frozen
class Line:
    sku: str
    quantity: int = 1


@attrs.frozen
class Basket:
    """A basket of lines."""

    owner: str
    lines: list[Line]


@dataclasses.dataclass
class Total:
    amount: float
    currency: str = "EUR"


@command
async def price(basket: Basket) -> Total:
    """Price a basket."""
    return Total(amount=float(len(basket.lines)))


@command(path="/baskets/{owner}/lines", method="PUT")
async def replace_lines(basket: Basket) -> None:
    return None


@attrs.frozen
class Find:
    owner: str
    limit: int = 10
    tags: list[str] = attrs.field(factory=list)


@command(path="/baskets/{owner}", method="GET")
async def find(query: Find) -> list[Basket]:
    return []


@command(path="/counts/{count}", method="GET")
async def double(count: int) -> int:
    return count * 2


@api.get("/status")
async def status(request: HttpRequest) -> HttpResponse:
    """Say that all is well."""
    return HttpResponse.json({"ok": True})


def _app(token: str | None = None) -> HttpApp:
    service = Service.from_definitions("baskets", [price, replace_lines, find, double, status])
    return HttpApp(Engine(service, MemoryBackend()), options=HttpOptions(token=token))


def test_document_is_valid_openapi_3_1() -> None:
    """The generated document passes openapi-spec-validator as OpenAPI 3.1."""
    document = _app().openapi()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_commands_have_schemas_from_their_types() -> None:
    """A command's request and response bodies refer to schemas derived from attrs/dataclasses."""
    document = _app().openapi()
    operation = document["paths"]["/_rpc/price"]["post"]
    assert operation["summary"] == "Price a basket."
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Basket"}
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Total"}
    schemas = document["components"]["schemas"]
    assert schemas["Basket"]["required"] == ["owner", "lines"]
    assert schemas["Basket"]["properties"]["lines"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Line"},
    }
    assert schemas["Basket"]["description"] == "A basket of lines."
    assert schemas["Line"]["required"] == ["sku"]
    assert schemas["Total"]["properties"]["amount"] == {"type": "number"}
    assert schemas["Total"]["additionalProperties"] is False


def test_rest_command_and_route_paths() -> None:
    """REST commands list typed path parameters; routes and error responses are listed."""
    paths = _app().openapi()["paths"]
    rest = paths["/baskets/{owner}/lines"]["put"]
    owner, key = rest["parameters"]
    assert owner == {"name": "owner", "in": "path", "required": True, "schema": {"type": "string"}}
    assert (key["name"], key["in"], key["required"]) == ("Idempotency-Key", "header", False)
    assert rest["responses"]["422"] == {"$ref": "#/components/responses/Error422"}
    assert rest["responses"]["400"] == {"$ref": "#/components/responses/Error400"}
    # The body holds the input's fields the path does not fill.
    body = rest["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"lines"}
    assert body["required"] == ["lines"]
    assert body["additionalProperties"] is False
    route = paths["/status"]["get"]
    assert route["summary"] == "Say that all is well."
    assert set(route["responses"]) == {"200", "404", "500"}


def test_system_api_is_documented_and_secured() -> None:
    """The system API's endpoints are in the document, each with the bearer scheme but health."""
    document = _app(token="t").openapi()
    paths = document["paths"]
    assert "/_eventual/executions/{workflow}/{name}" in paths
    assert "/_eventual/dead-letters/redrive" in paths
    assert "security" not in paths["/_eventual/health"]["get"]
    assert paths["/_eventual/executions"]["get"]["security"] == [{"bearer": []}]
    record = document["components"]["schemas"]["ExecutionRecord"]
    assert record["properties"]["status"] == {
        "enum": ["RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]
    }
    assert record["properties"]["started_at"] == {"type": "string", "format": "date-time"}


async def test_served_at_eventual_openapi_json() -> None:
    """GET /_eventual/openapi.json serves the same document, behind the token."""
    app = _app(token="t")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        assert (await client.get("/_eventual/openapi.json")).status_code == 401
        served = await client.get("/_eventual/openapi.json", headers={"authorization": "Bearer t"})
    served_document: dict[str, Any] = served.json()
    assert served_document == app.openapi()


def test_get_commands_document_their_query_and_path_types() -> None:
    """A GET command lists its record's other fields as query parameters, typed."""
    paths = _app().openapi()["paths"]
    assert paths["/baskets/{owner}"]["get"]["parameters"] == [
        {"name": "owner", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}},
        {
            "name": "tags",
            "in": "query",
            "required": False,
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "string"}}}
            },
        },
    ]
    [count] = paths["/counts/{count}"]["get"]["parameters"]
    assert count["schema"] == {"type": "integer"}


def test_conflict_and_missing_bus_responses_are_documented() -> None:
    """409 (a taken execution name) and 501 (no event bus) appear where they can happen."""
    document = _app().openapi()
    validate(document)
    paths = document["paths"]
    assert "409" in paths["/_rpc/price"]["post"]["responses"]
    assert "409" in paths["/_eventual/executions"]["post"]["responses"]
    assert "501" in paths["/_eventual/events/{event}"]["post"]["responses"]
    assert "501" in paths["/_eventual/dead-letters"]["get"]["responses"]
    assert set(document["components"]["responses"]) >= {"Error409", "Error501"}
