"""``HttpApp``: a service's commands, routes and system API as one ASGI application.

The core is :meth:`HttpApp.handle`, a function from an ``HttpRequest`` to an
``HttpResponse`` with no server in sight; the ASGI entry point only translates.
That way ``eventual local`` (uvicorn), the test environment and the AWS Lambda
handler (API Gateway HTTP API payloads) share one dispatch and one set of error
responses. No web framework is used: routing, middleware and errors follow the
contract of DESIGN.md section 3 exactly, a framework would add its own error
shapes to hide, and one dictionary lookup per request keeps the overhead small.
"""

from __future__ import annotations

import contextvars
import logging
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import attrs

from eventual import (
    Command,
    ExecutionAlreadyExists,
    HttpError,
    HttpRequest,
    HttpResponse,
    Middleware,
    Service,
    ValidationError,
)
from eventual.codec import encode
from eventual.spi import use_client

from ._guard import check_host, check_json_type, check_origin
from ._idempotency import Idempotency
from ._inputs import invalid, rest_input, rpc_input
from ._mount import inside_mount, root_path_var
from ._options import HttpOptions
from ._responses import (
    REQUEST_ID_HEADER,
    ApiError,
    error_response,
    json_response,
    reason,
    request_id_of,
    with_header,
)
from ._routing import Endpoint, Handler, Router, raw_path_for_routing
from ._served import EngineHolder, ServedEngine, ambient_client, engine_getter
from ._system import SYSTEM_PREFIX, SystemApi

__all__ = ["HttpApp"]

log = logging.getLogger("eventual.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# The request id of the request being handled: a middleware may pass on a request
# it built itself, without the x-request-id header, and errors must still carry it.
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("eventual_request_id")
# The request's path as the server received it (decoded, and in routing form), so
# that a %2F stays inside its path parameter unless a middleware changes the path.
_raw_path: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "eventual_raw_path", default=None
)


def _command_endpoints(command: Command[Any, Any], options: HttpOptions) -> list[Endpoint]:
    def respond(read: Callable[[Command[Any, Any], HttpRequest], Any]) -> Handler:
        async def call(request: HttpRequest) -> HttpResponse:
            check_origin(request, options)
            check_json_type(request)
            input = read(command, request)
            try:
                output = await command(input)
            except ValidationError as exc:
                # A value the request gave that does not fit where the command put
                # it (an execution name, a workflow's input): the client's to fix.
                raise invalid(exc.path, exc.problem) from None
            if isinstance(output, HttpResponse):
                return output
            return json_response(command.encode_output(output))

        return call

    described: dict[str, Any] = {
        "summary": (command.fn.__doc__ or "").strip().partition("\n")[0],
        "tag": "commands",
        "command": command,
        "body_type": command.input_type,
        "response_type": command.output_type,
        "errors": ("409",),  # a command that starts an execution under a taken name
    }
    rpc = respond(rpc_input)
    endpoints = [Endpoint.of("POST", f"/_rpc/{command.name}", rpc, idempotent=True, **described)]
    if command.path is not None:
        path = command.path.pattern
        rest = respond(rest_input)
        # A GET reads: it has no effect a retry could repeat, and nothing to key.
        keyed = command.method not in ("GET", "HEAD")
        endpoints.append(
            Endpoint.of(command.method, path, rest, rest=True, idempotent=keyed, **described)
        )
    return endpoints


def _service_endpoints(service: Service, options: HttpOptions) -> list[Endpoint]:
    endpoints: list[Endpoint] = []
    for command in service.commands.values():
        endpoints += _command_endpoints(command, options)
    for route in service.routes.values():
        summary = (route.fn.__doc__ or "").strip().partition("\n")[0]
        endpoints.append(Endpoint(route=route, summary=summary))
    for endpoint in endpoints:
        # The system API answers everything under its prefix: such an endpoint
        # would never be reached, so say so instead of shadowing it silently.
        if endpoint.path == SYSTEM_PREFIX or endpoint.path.startswith(SYSTEM_PREFIX + "/"):
            owner = endpoint.command or endpoint.route
            raise ValueError(
                f"{owner!r} at {endpoint.method} {endpoint.path} is under {SYSTEM_PREFIX}/, "
                "which the system API serves; give it another path"
            )
    return endpoints


class HttpApp:
    """Serves a service over HTTP: commands, routes, middleware and the system API.

    It is a plain ASGI application (``await app(scope, receive, send)``), so any
    ASGI server runs it, and :meth:`handle` is the same dispatch without a server.

    Example:
        async with LocalRuntime("orders.service", db="orders.db") as runtime:
            app = HttpApp(runtime, options=HttpOptions(token="s3cret"))
            await uvicorn.Server(uvicorn.Config(app)).serve()

    Args:
        runtime: What runs the service: an engine or a ``BackendClient`` (any
            ``ServedEngine``), or a runtime holding one while it runs, such as a
            ``LocalRuntime`` (an ``EngineHolder``, asked on each request).
        service: The service to serve; by default the runtime's.
        options: Token, body limit and long-poll settings.

    Raises:
        ValueError: A command or route has a path under ``/_eventual/``, which
            the system API serves.
    """

    def __init__(
        self,
        runtime: ServedEngine | EngineHolder,
        service: Service | None = None,
        *,
        options: HttpOptions | None = None,
    ) -> None:
        self._engine = engine_getter(runtime)
        self.service = service if service is not None else runtime.service
        self.options = options or HttpOptions()
        self._router = Router(_service_endpoints(self.service, self.options))
        self._idempotency = Idempotency(
            lambda: self.engine,
            self.options,
            lambda exc, request: self._failure(exc, request, _request_id.get()),
        )
        self._system = SystemApi(
            lambda: self.engine,
            self.service,
            self.options,
            self._router.endpoints,
            self._idempotency,
        )
        self._chain = self._build_chain(self.service.middleware)

    @property
    def engine(self) -> ServedEngine:
        """The engine (or client) requests run against."""
        return self._engine()

    def openapi(self) -> dict[str, Any]:
        """Return the OpenAPI 3.1 document of the service and the system API."""
        return self._system.openapi()

    def close(self) -> None:
        """Answer held long-polls now, with the current state, and hold no new ones.

        A server that is stopping calls it, so that it need not wait for clients'
        long-polls to run out; clients ask again (elsewhere, or after a restart).
        """
        self._system.close()

    # --- the request -> response core -----------------------------------------------

    async def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request; never raises.

        Every response carries an ``x-request-id`` header (the caller's, when it is
        a plain token, else a new ULID), which errors also carry in their body and
        which the log line of a 500 names, and ``x-content-type-options: nosniff``.
        """
        request_id = request_id_of(request.headers)
        request = _with_request_id(request, request_id)
        token = _request_id.set(request_id)
        try:
            with use_client(ambient_client(self.engine)):
                try:
                    check_host(request.headers, self.options)
                    if len(request.body) > self.options.max_body_bytes:
                        raise self._too_large()
                    path = request.path
                    if path == SYSTEM_PREFIX or path.startswith(SYSTEM_PREFIX + "/"):
                        response = await self._system.handle(request, _routing_of(request))
                    else:
                        response = _checked(await self._chain(request), "middleware")
                except Exception as exc:
                    response = self._failure(exc, request, request_id)
        finally:
            _request_id.reset(token)
        if request.method == "HEAD":
            # Answered as GET, without the body (but with its length).
            length = str(len(response.body_bytes()))
            response = with_header(response, "content-length", length)
            response = HttpResponse(b"", response.status, response.headers)
        return _finished(response, request_id)

    def _build_chain(self, middleware: tuple[Middleware, ...]) -> Handler:
        call: Handler = self._dispatch
        for layer in reversed(middleware):
            call = _wrap(layer, call)
        return call

    async def _dispatch(self, request: HttpRequest) -> HttpResponse:
        # Errors become responses here, inside the middleware, so that a
        # middleware sees (and may decorate) error responses too.
        request_id = _request_id.get()
        try:
            request = _with_request_id(request, request_id)
            routing = _routing_of(request)
            endpoint, params = self._router.match(request.method, request.path, routing)
            if params:
                request = attrs.evolve(request, params=params)
            if endpoint.idempotent:
                # A command's answer is kept under an Idempotency-Key, if one is sent.
                routed = request

                async def run() -> HttpResponse:
                    return _checked(await endpoint.route(routed), endpoint.route.name)

                return await self._idempotency.answer(request, run)
            return _checked(await endpoint.route(request), endpoint.route.name)
        except Exception as exc:
            return self._failure(exc, request, request_id)

    def _too_large(self) -> ApiError:
        limit = self.options.max_body_bytes
        return ApiError(413, f"the body is larger than {limit} bytes", {"max_bytes": limit})

    def _failure(self, exc: Exception, request: HttpRequest, request_id: str) -> HttpResponse:
        if isinstance(exc, ApiError):
            return error_response(exc.status, exc.error, exc.detail, request_id, exc.headers)
        if isinstance(exc, ExecutionAlreadyExists):
            # A command that starts an execution under a taken name: the client's to fix.
            return error_response(409, str(exc), None, request_id)
        if isinstance(exc, HttpError) and 400 <= exc.status <= 599:
            try:
                detail = encode(exc.detail)
            except ValidationError:
                log.exception(
                    "%s %s: HttpError detail has no JSON form (request id %s)",
                    request.method,
                    request.path,
                    request_id,
                )
            else:
                return error_response(
                    exc.status, exc.message or reason(exc.status), detail, request_id
                )
        else:
            log.error(
                "%s %s failed (request id %s)",
                request.method,
                request.path,
                request_id,
                exc_info=exc,
            )
        return error_response(500, "internal server error", None, request_id)

    # --- ASGI -----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection (``http`` and ``lifespan`` scopes)."""
        if scope["type"] == "http":
            await self._asgi_http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _asgi_lifespan(receive, send)
        else:
            raise RuntimeError(f"eventual serves HTTP only, not {scope['type']!r} connections")

    async def _asgi_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        # Percent-escapes are read as UTF-8, so raw bytes are too (curl sends them as typed).
        query_string = scope["query_string"].decode("utf-8", "replace")
        query = dict(urllib.parse.parse_qsl(query_string, keep_blank_values=True))
        # Mounted under a prefix (root_path), the service's paths are what follows it.
        root_path, path, raw_path = inside_mount(scope)
        request = HttpRequest(method=scope["method"], path=path, query=query, headers=headers)
        body = await self._read_body(headers, receive)
        if body is None:
            request_id = request_id_of(headers)
            response = self._failure(self._too_large(), request, request_id)
            response = with_header(_finished(response, request_id), "connection", "close")
        else:
            token = None
            if raw_path:
                token = _raw_path.set((request.path, raw_path_for_routing(raw_path)))
            mount = root_path_var.set(root_path)
            try:
                response = await self.handle(attrs.evolve(request, body=body))
            finally:
                root_path_var.reset(mount)
                if token is not None:
                    _raw_path.reset(token)
        await _send_response(response, send)

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes | None:
        """Return the body, or None when it is over the limit (then it is not read)."""
        limit = self.options.max_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _routing_of(request: HttpRequest) -> str | None:
    raw = _raw_path.get()
    return raw[1] if raw is not None and raw[0] == request.path else None


def _finished(response: HttpResponse, request_id: str) -> HttpResponse:
    # nosniff: a browser must never render an answer (which may echo input) as HTML.
    response = with_header(response, "x-content-type-options", "nosniff")
    return with_header(response, REQUEST_ID_HEADER, request_id)


def _with_request_id(request: HttpRequest, request_id: str) -> HttpRequest:
    if request.headers.get(REQUEST_ID_HEADER) == request_id:
        return request
    return attrs.evolve(request, headers={**request.headers, REQUEST_ID_HEADER: request_id})


def _wrap(layer: Middleware, inner: Handler) -> Handler:
    async def step(request: HttpRequest) -> HttpResponse:
        return await layer(request, inner)

    return step


def _checked(response: object, what: str) -> HttpResponse:
    if not isinstance(response, HttpResponse):
        raise TypeError(f"{what} returned {type(response).__name__}, not an HttpResponse")
    return response


async def _send_response(response: HttpResponse, send: Send) -> None:
    body = response.body_bytes()
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in (response.headers or {}).items()
    ]
    if not any(name == b"content-length" for name, _ in headers):
        headers.append((b"content-length", str(len(body)).encode("latin-1")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _asgi_lifespan(receive: Receive, send: Send) -> None:
    # The runtime is started and stopped by its owner (``eventual local``), not by
    # the server, so startup and shutdown only need acknowledging.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
