"""Which handler serves a method and path: literal paths by lookup, patterns in order."""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

import attrs

from eventual import Command, HttpRequest, HttpResponse, Route
from eventual.codec import JsonValue

from ._responses import ApiError

__all__ = [
    "NO_BODY",
    "UNKNOWN",
    "Endpoint",
    "Handler",
    "Router",
    "raw_path_for_routing",
    "routing_path",
]

Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]
NO_BODY: Final = object()
"""``Endpoint.body_type`` of an endpoint that reads no body."""
UNKNOWN: Final = object()
"""``Endpoint.response_type`` of an endpoint whose response is not described."""


@attrs.frozen(kw_only=True)
class Endpoint:
    """One method and path pattern and the handler serving it.

    The other attributes only describe the endpoint in the OpenAPI document.

    Attributes:
        route: The method, path pattern and handler (which receives the request
            with ``params`` filled).
        summary: One line.
        tag: The group it is listed under.
        command: The command it serves, if any.
        rest: Whether it is a command's REST route (else its RPC endpoint).
        body_type: The declared type of the JSON body; ``NO_BODY`` for none.
        response_type: The declared type of the JSON response; ``UNKNOWN`` when
            the handler builds its own response.
        status: The status of a successful response.
        query: Query parameters as (name, JSON Schema or its type, description).
        param_schemas: JSON Schemas of path parameters (others are strings).
        secured: Whether the system API's token is required.
        errors: Error statuses it may answer beyond the usual ones (``"409"``).
        idempotent: Whether an ``Idempotency-Key`` header makes its first answer
            the answer to every retry (commands, and starting an execution).
    """

    route: Route
    summary: str = ""
    tag: str = "routes"
    command: Command[Any, Any] | None = None
    rest: bool = False
    body_type: object = NO_BODY
    response_type: object = UNKNOWN
    status: int = 200
    query: tuple[tuple[str, str | dict[str, JsonValue], str], ...] = ()
    param_schemas: tuple[tuple[str, dict[str, JsonValue]], ...] = ()
    secured: bool = False
    errors: tuple[str, ...] = ()
    idempotent: bool = False

    @classmethod
    def of(cls, method: str, path: str, handler: Handler, **described: Any) -> Endpoint:
        """Build an endpoint from a method, a path pattern and an ``async`` handler."""
        return cls(route=Route(method, path, handler), **described)

    @property
    def method(self) -> str:
        """The upper-case HTTP method."""
        return self.route.method

    @property
    def path(self) -> str:
        """The path pattern, e.g. ``/orders/{order_id}``."""
        return self.route.path.pattern

    @property
    def param_names(self) -> tuple[str, ...]:
        """The names of the path parameters, in order."""
        return self.route.path.param_names


class Router:
    """Finds the endpoint of a request, or says why there is none (404 or 405)."""

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self.endpoints = tuple(endpoints)
        # Most requests hit a literal path (every /_rpc/ command): one dict lookup.
        self._literal: dict[str, dict[str, Endpoint]] = {}
        self._patterns: list[Endpoint] = []
        for endpoint in self.endpoints:
            if endpoint.param_names:
                self._patterns.append(endpoint)
            else:
                key = _normalise(routing_path(endpoint.path))
                self._literal.setdefault(key, {})[endpoint.method] = endpoint

    def match(
        self, method: str, path: str, routing: str | None = None
    ) -> tuple[Endpoint, dict[str, str]]:
        """Return the endpoint serving ``method`` and ``path`` with its path parameters.

        HEAD is served by the GET endpoint (the caller drops the body); OPTIONS
        on a known path by an endpoint answering 204 with an ``allow`` header.

        Args:
            method: The request's method.
            path: The request's path, percent-decoded.
            routing: The path with each segment decoded but a ``/`` or ``%``
                inside a segment escaped (``raw_path_for_routing``), so that
                ``%2F`` stays inside its parameter; by default ``path``'s.

        Raises:
            ApiError: 404 when no endpoint has the path; 405 (with an ``allow``
                header) when endpoints have it for other methods only.
        """
        wanted = "GET" if method == "HEAD" else method
        if routing is None:
            routing = routing_path(path)
        allowed: set[str] = set()
        literal = self._literal.get(_normalise(routing))
        if literal is not None:
            found = literal.get(wanted)
            if found is not None:
                return found, {}
            allowed.update(literal)
        for endpoint in self._patterns:
            escaped = endpoint.route.path.match(routing)
            if escaped is None:
                continue
            if endpoint.method == wanted:
                return endpoint, {name: urllib.parse.unquote(v) for name, v in escaped.items()}
            allowed.add(endpoint.method)
        if not allowed:
            raise ApiError(404, f"no route for {method} {path}")
        if "GET" in allowed:
            allowed.add("HEAD")
        methods = sorted({*allowed, "OPTIONS"})
        allow = {"allow": ", ".join(methods)}
        if method == "OPTIONS":
            return _options_endpoint(allow), {}
        problem = f"method {method} is not allowed on {path}"
        raise ApiError(405, problem, {"allowed": list[JsonValue](methods)}, allow)


def _options_endpoint(allow: dict[str, str]) -> Endpoint:
    async def options(request: HttpRequest) -> HttpResponse:
        return HttpResponse(b"", 204, allow)

    return Endpoint.of("OPTIONS", "/", options)


def routing_path(path: str) -> str:
    """Return a decoded path in the form routers match: ``%`` escaped as ``%25``."""
    return path.replace("%", "%25")


def raw_path_for_routing(raw_path: bytes) -> str:
    """Return a raw (percent-encoded) path in the form routers match.

    Each segment is decoded as UTF-8, then a ``%`` or ``/`` in it escaped again,
    so that ``/orders/a%2Fb`` has the two segments ``orders`` and ``a/b``.
    """
    segments = []
    for segment in raw_path.split(b"/"):
        text = urllib.parse.unquote_to_bytes(segment).decode("utf-8", "replace")
        segments.append(text.replace("%", "%25").replace("/", "%2F"))
    return "/".join(segments)


def _normalise(path: str) -> str:
    return path.rstrip("/") or "/"
