"""The OpenAPI 3.1 document of a service: commands, routes and the system API.

Command inputs and outputs are described by JSON Schemas derived from their
declared types (see ``_schema``); routes, whose handlers build their own
responses, by their method, path and parameters; every endpoint by the error
responses the application can give.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any

from eventual import Service
from eventual.codec import JsonValue

from ._options import HttpOptions
from ._routing import NO_BODY, UNKNOWN, Endpoint
from ._schema import SchemaSet, record_fields

__all__ = ["openapi_document"]

_ERROR_SCHEMA: dict[str, JsonValue] = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "what went wrong"},
        "detail": {"description": "details, e.g. the path of the field that failed"},
        "request_id": {"type": "string", "description": "also in the x-request-id header"},
    },
    "required": ["error", "detail", "request_id"],
}
_ERRORS = {
    "400": "The input does not fit its type, or the JSON is malformed",
    "401": "The system API's token is missing or wrong",
    "403": "A state-changing request from another site (Origin, Sec-Fetch-Site)",
    "404": "No such route, execution or definition",
    "405": "The path exists for other methods (see the Allow header)",
    "409": (
        "An execution of that name exists with another input, or the first request with "
        "this Idempotency-Key is still being answered (see Retry-After)"
    ),
    "413": "The body is larger than the limit",
    "415": "A JSON body sent without content-type: application/json",
    "421": "The Host is not one of the names this server answers",
    "422": "The Idempotency-Key was already used for another request",
    "500": "An unexpected error; the log names the request id",
    "501": "The service runs without what this needs (an event bus)",
}


_IDEMPOTENCY_KEY: JsonValue = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": (
        "Answer this request once: a retry with the same key gets the first answer "
        "(header idempotent-replayed: true) instead of running again"
    ),
}


def _admits_null(type_: object) -> bool:
    if type_ is type(None) or type_ is Any:
        return True
    origin = typing.get_origin(type_)
    return origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(type_)


def _error_refs(*codes: str) -> dict[str, JsonValue]:
    return {code: {"$ref": f"#/components/responses/Error{code}"} for code in codes}


def _operation_id(endpoint: Endpoint) -> str:
    if endpoint.command is not None:
        return f"{endpoint.command.name}{'_rest' if endpoint.rest else ''}"
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in endpoint.path.strip("/"))
    return f"{endpoint.method.lower()}_{cleaned}".strip("_")


def _parameters(endpoint: Endpoint, schemas: SchemaSet) -> list[JsonValue]:
    fields: dict[str, tuple[Any, bool]] = {}
    command = endpoint.command
    if endpoint.rest and command is not None:
        fields = {name: (kind, needed) for name, kind, needed in record_fields(command.input_type)}
        if not fields and len(endpoint.param_names) == 1:
            # Not a record: the only path parameter is the whole input.
            fields = {endpoint.param_names[0]: (command.input_type, True)}
    parameters: list[JsonValue] = []
    given = dict(endpoint.param_schemas)
    for name in endpoint.param_names:
        kind = fields.pop(name, None)
        schema: JsonValue = given.get(name, {"type": "string"})
        if kind is not None:
            schema = schemas.of(kind[0])
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    if endpoint.method == "GET":
        # A GET has no body: the record's other fields can only come from the query.
        for name, (kind, needed) in fields.items():
            parameters.append(_query_field(name, schemas.of(kind), needed))
    for name, query_schema, description in endpoint.query:
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": {"type": query_schema} if isinstance(query_schema, str) else query_schema,
                "description": description,
            }
        )
    return parameters


def _query_field(name: str, schema: dict[str, JsonValue], required: bool) -> JsonValue:
    """A query parameter filling a record field: plain text, or JSON for structures."""
    parameter: dict[str, JsonValue] = {"name": name, "in": "query", "required": required}
    if "$ref" in schema or schema.get("type") in ("array", "object"):
        parameter["content"] = {"application/json": {"schema": schema}}
    else:
        parameter["schema"] = schema
    return parameter


def _rest_body(endpoint: Endpoint, schemas: SchemaSet) -> dict[str, JsonValue] | None:
    """The body of a REST command: its input record without the fields the path fills.

    None when the input is not a record (the body is then the whole input).
    """
    command = endpoint.command
    fields = record_fields(command.input_type) if command is not None else []
    if not fields:
        return None
    in_path = set(endpoint.param_names)
    properties: dict[str, JsonValue] = {
        name: schemas.of(kind) for name, kind, _ in fields if name not in in_path
    }
    required: list[JsonValue] = [
        name for name, _, needed in fields if needed and name not in in_path
    ]
    schema: dict[str, JsonValue] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


def _operation(
    endpoint: Endpoint, schemas: SchemaSet, options: HttpOptions
) -> dict[str, JsonValue]:
    operation: dict[str, JsonValue] = {
        "operationId": _operation_id(endpoint),
        "tags": [endpoint.tag],
    }
    if endpoint.summary:
        operation["summary"] = endpoint.summary
    parameters = _parameters(endpoint, schemas)
    if endpoint.idempotent:
        parameters.append(_IDEMPOTENCY_KEY)
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body_type is not NO_BODY and endpoint.method != "GET":
        schema = _rest_body(endpoint, schemas) if endpoint.rest else None
        body: dict[str, JsonValue] = {
            "content": {"application/json": {"schema": schema or schemas.of(endpoint.body_type)}}
        }
        if endpoint.rest:
            body["description"] = "fields not given in the path or query"
        else:
            # An empty body reads as null: it may be left out when null is allowed.
            body["required"] = not _admits_null(endpoint.body_type)
        operation["requestBody"] = body
    success: dict[str, JsonValue] = {"description": "Success"}
    if endpoint.response_type is not UNKNOWN:
        success["content"] = {"application/json": {"schema": schemas.of(endpoint.response_type)}}
    codes = ["400", "404", "405", "413", "500"] if endpoint.tag != "routes" else ["404", "500"]
    if endpoint.tag != "routes" and endpoint.method not in ("GET", "HEAD", "OPTIONS"):
        codes += ["403", "415"]  # see _guard: cross-site requests, bodies not sent as JSON
    if options.allowed_hosts is not None:
        codes.append("421")
    if endpoint.secured and options.token is not None:
        # Described as configured: a server without a token asks for none.
        codes.append("401")
        operation["security"] = [{"bearer": []}]
    if endpoint.idempotent:
        codes += ["409", "422"]
    codes = sorted({*codes, *endpoint.errors})
    operation["responses"] = {str(endpoint.status): success, **_error_refs(*codes)}
    return operation


def openapi_document(
    service: Service,
    service_endpoints: Sequence[Endpoint],
    system_endpoints: Sequence[Endpoint],
    options: HttpOptions,
) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of ``service`` served with ``options``."""
    schemas = SchemaSet()
    paths: dict[str, dict[str, JsonValue]] = {}
    used: set[str] = set()  # the error responses some operation refers to
    for endpoint in [*service_endpoints, *system_endpoints]:
        operation = _operation(endpoint, schemas, options)
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
        if isinstance(responses := operation["responses"], dict):
            used.update(responses)
    schemas.components["Error"] = _ERROR_SCHEMA
    responses = {
        f"Error{code}": {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code, text in _ERRORS.items()
        if code in used
    }
    components: dict[str, Any] = {
        "schemas": dict(sorted(schemas.components.items())),
        "responses": responses,
    }
    if options.token is not None:
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": service.name,
            "version": options.api_version,
            "description": f"The HTTP API of the eventual service {service.name!r}.",
        },
        "tags": [
            {"name": "commands", "description": "Typed commands (RPC and REST)"},
            {"name": "routes", "description": "REST routes"},
            {"name": "system", "description": "Operate the service (/_eventual/)"},
        ],
        "paths": paths,
        "components": components,
    }
