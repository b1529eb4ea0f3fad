"""The system API under ``/_eventual/``: operate a running service over HTTP.

The client, the CLI and a web UI use it: list and read executions (with a
long-poll for the end), history, start, signal, cancel, publish events, finish
tasks that completed asynchronously, dead letters and redrive, schedules (list,
pause, resume), the service's manifest, its OpenAPI document and a health check.
When ``HttpOptions.token`` is set, every endpoint but the health check needs
``Authorization: Bearer <token>``.

This module authorizes, routes and maps errors; each group of endpoints lives in
its own module (``_system_executions``, ``_system_messages``,
``_system_dead_letters``, ``_system_schedules``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from typing import Any, Final

import attrs

from eventual import (
    DefinitionNotFound,
    ExecutionAlreadyExists,
    ExecutionNotFound,
    HttpRequest,
    HttpResponse,
    RuntimeNotAvailable,
    Service,
    ValidationError,
)
from eventual.codec import JsonValue

from .._schedules import ScheduleEnded
from ._guard import check_json_type, check_origin
from ._idempotency import Idempotency
from ._inputs import invalid
from ._mount import mounted_at
from ._openapi import openapi_document
from ._options import HttpOptions
from ._params import MAX_NAME
from ._responses import ApiError, json_response
from ._routing import Endpoint, Router
from ._served import ServedEngine
from ._system_bodies import Health
from ._system_dead_letters import DeadLetterRoutes
from ._system_executions import ExecutionRoutes
from ._system_messages import MessageRoutes
from ._system_schedules import ScheduleRoutes

__all__ = ["SYSTEM_PREFIX", "SystemApi"]

SYSTEM_PREFIX: Final = "/_eventual"
_HEALTH: Final = f"{SYSTEM_PREFIX}/health"
_NAME_SCHEMA: dict[str, JsonValue] = {"type": "string", "minLength": 1, "maxLength": MAX_NAME}
_EXECUTION_PARAMS: tuple[tuple[str, dict[str, JsonValue]], ...] = (
    ("workflow", _NAME_SCHEMA),
    ("name", {**_NAME_SCHEMA, "pattern": "^[^/]+$"}),
)


class SystemApi:
    """The ``/_eventual/`` endpoints of one service, over its engine.

    Args:
        engine: Returns the engine or client to act on (looked up per request,
            so a runtime can be served before it runs).
        service: The service.
        options: The token and the long-poll limit.
        service_endpoints: The service's own endpoints, for the OpenAPI document.
        idempotency: Answers starts that carry an ``Idempotency-Key`` once.
    """

    def __init__(
        self,
        engine: Callable[[], ServedEngine],
        service: Service,
        options: HttpOptions,
        service_endpoints: Sequence[Endpoint],
        idempotency: Idempotency | None = None,
    ) -> None:
        self._engine = engine
        self._idempotency = idempotency
        self._service = service
        self._options = options
        self._service_endpoints = tuple(service_endpoints)
        self._executions = ExecutionRoutes(engine, service, options)
        self._messages = MessageRoutes(engine, service)
        self._dead_letters = DeadLetterRoutes(engine)
        self._schedules = ScheduleRoutes(engine)
        self._router = Router(self._endpoints())
        self._openapi: dict[str, Any] | None = None
        self._token = None if options.token is None else options.token.encode("utf-8")

    def close(self) -> None:
        """Answer the long-polls being held now, and hold no new ones."""
        self._executions.close()

    def openapi(self) -> dict[str, Any]:
        """Return (and cache) the OpenAPI document."""
        if self._openapi is None:
            self._openapi = openapi_document(
                self._service, self._service_endpoints, self._router.endpoints, self._options
            )
        return self._openapi

    async def handle(self, request: HttpRequest, routing: str | None = None) -> HttpResponse:
        """Answer a request under ``/_eventual``; raises ``ApiError`` for failures.

        The token is checked before the path is looked up, so that a caller
        without it learns nothing about which paths exist.
        """
        if request.path.rstrip("/") != _HEALTH:
            self._authorize(request)
        endpoint, params = self._router.match(request.method, request.path, routing)
        check_origin(request, self._options)
        check_json_type(request)
        if params:
            request = attrs.evolve(request, params=params)
        if endpoint.idempotent and self._idempotency is not None:
            return await self._idempotency.answer(request, lambda: self._run(endpoint, request))
        return await self._run(endpoint, request)

    async def _run(self, endpoint: Endpoint, request: HttpRequest) -> HttpResponse:
        try:
            return await endpoint.route(request)
        except (ExecutionNotFound, DefinitionNotFound) as exc:
            raise ApiError(404, str(exc)) from None
        except (ExecutionAlreadyExists, ScheduleEnded) as exc:
            raise ApiError(409, str(exc)) from None
        except ValidationError as exc:
            raise invalid(exc.path, exc.problem) from None
        except RuntimeNotAvailable as exc:
            raise ApiError(501, str(exc)) from None

    def _authorize(self, request: HttpRequest) -> None:
        if self._token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode("utf-8"), self._token
        ):
            raise ApiError(
                401,
                "the system API needs a token: send `Authorization: Bearer <token>`",
                None,
                {"www-authenticate": 'Bearer realm="eventual"'},
            )

    def _endpoints(self) -> list[Endpoint]:
        p = SYSTEM_PREFIX
        one = f"{p}/executions/{{workflow}}/{{name}}"

        def ep(method: str, path: str, handler: Any, **described: Any) -> Endpoint:
            described.setdefault("secured", True)
            if path.startswith(one):
                described.setdefault("param_schemas", _EXECUTION_PARAMS)
            return Endpoint.of(method, path, handler, tag="system", **described)

        return [
            ep(
                "GET",
                _HEALTH,
                self._health,
                summary="Health check (no token needed)",
                response_type=Health,
                secured=False,
            ),
            ep("GET", f"{p}/openapi.json", self._openapi_json, summary="This OpenAPI document"),
            ep("GET", f"{p}/service", self._manifest, summary="The service's manifest"),
            *self._executions.endpoints(p, ep),
            *self._messages.endpoints(p, ep),
            *self._dead_letters.endpoints(p, ep),
            *self._schedules.endpoints(p, ep),
        ]

    # --- handlers -------------------------------------------------------------------

    async def _health(self, request: HttpRequest) -> HttpResponse:
        return json_response({"status": "ok", "service": self._service.name})

    async def _openapi_json(self, request: HttpRequest) -> HttpResponse:
        root_path = mounted_at()
        if not root_path:
            return json_response(self.openapi())
        # Mounted under a prefix: the paths are relative to it, which servers says.
        return json_response({**self.openapi(), "servers": [{"url": root_path}]})

    async def _manifest(self, request: HttpRequest) -> HttpResponse:
        return json_response(self._service.manifest())
