"""HTTP values, REST routes and middleware."""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, NoReturn

import attrs

from ._codec import check_storable, encode
from ._definition import Definition, source_of
from ._errors import HttpError, ValidationError

__all__ = [
    "HTTP_METHODS",
    "HttpRequest",
    "HttpResponse",
    "Middleware",
    "Route",
    "RoutePattern",
    "api",
]

HTTP_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")

_SEGMENT = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


class _BadBody(HttpError, ValueError):
    """A body that is not what the handler read it as: the client's 400.

    Also a ``ValueError``, the error ``json.loads`` and ``bytes.decode`` raise, so
    a handler that catches those still does.
    """


@attrs.frozen(kw_only=True)
class HttpRequest:
    """An HTTP request as a route handler sees it.

    Attributes:
        method: Upper-case method, e.g. ``"GET"``.
        path: The request path, without the query string.
        params: Path parameters, e.g. ``{"order_id": "o1"}`` for ``/orders/{order_id}``.
        query: Query parameters; the last value wins for repeated keys.
        headers: Headers with lower-case names.
        body: The raw body.
    """

    method: str
    path: str
    params: Mapping[str, str] = attrs.field(factory=dict)
    query: Mapping[str, str] = attrs.field(factory=dict)
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""

    def text(self) -> str:
        """Return the body decoded as UTF-8.

        Raises:
            HttpError: 400 when the body is not UTF-8 (also a ``ValueError``), so
                a handler that does not catch it answers the client with a 400.
        """
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _BadBody(400, "the body is not UTF-8 text", str(exc)) from None

    def json(self) -> Any:
        """Return the body parsed as JSON; an empty body is ``None``.

        Raises:
            HttpError: 400 ``malformed JSON`` (also a ``ValueError``) when the body
                is not JSON, so a handler that does not catch it answers with a 400;
                400 ``invalid input`` naming where when it holds what cannot be
                stored (a lone surrogate, nesting deeper than ``MAX_DEPTH``).
        """
        if not self.body:
            return None
        try:
            data = json.loads(self.body, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:  # also JSONDecodeError, UnicodeDecodeError
            raise _BadBody(400, "malformed JSON", str(exc)) from None
        try:
            check_storable(data, "body")
        except ValidationError as exc:
            detail = {"path": exc.path, "problem": exc.problem}
            raise _BadBody(400, "invalid input", detail) from None
        return data


@attrs.frozen
class HttpResponse:
    """An HTTP response returned by a route handler.

    Attributes:
        body: The raw body.
        status: The status code.
        headers: Response headers.
    """

    body: bytes | str = b""
    status: int = 200
    headers: Mapping[str, str] | None = None

    @classmethod
    def json(cls, obj: object, status: int = 200) -> HttpResponse:
        """Return a JSON response; ``obj`` may be any value the codec encodes."""
        body = json.dumps(encode(obj), separators=(",", ":"), ensure_ascii=False)
        return cls(body.encode("utf-8"), status, {"content-type": "application/json"})

    def body_bytes(self) -> bytes:
        """Return the body as bytes (a ``str`` body is UTF-8 encoded)."""
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@attrs.frozen
class RoutePattern:
    """A path pattern such as ``/orders/{order_id}``."""

    pattern: str
    regex: re.Pattern[str] = attrs.field(init=False, eq=False, repr=False)
    param_names: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.pattern.startswith("/"):
            raise ValueError(f"route path {self.pattern!r} must start with '/'")
        parts: list[str] = []
        names: list[str] = []
        for segment in self.pattern.strip("/").split("/") if self.pattern != "/" else []:
            match = _SEGMENT.match(segment)
            if match:
                if match.group(1) in names:
                    raise ValueError(f"route path {self.pattern!r} repeats {{{match.group(1)}}}")
                names.append(match.group(1))
                parts.append(f"(?P<{match.group(1)}>[^/]+)")
            elif "{" in segment or "}" in segment:
                raise ValueError(
                    f"route path {self.pattern!r}: segment {segment!r} must be literal or "
                    "a whole {name}"
                )
            else:
                parts.append(re.escape(segment))
        object.__setattr__(self, "regex", re.compile("^/" + "/".join(parts) + "/?$"))
        object.__setattr__(self, "param_names", tuple(names))

    def match(self, path: str) -> dict[str, str] | None:
        """Return the path parameters when ``path`` matches, else None."""
        found = self.regex.match(path)
        return None if found is None else found.groupdict()


RouteHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]
Next = Callable[[HttpRequest], Awaitable[HttpResponse]]
MiddlewareFn = Callable[[HttpRequest, Next], Awaitable[HttpResponse]]


class Route(Definition):
    """A REST route: a method, a path pattern and an ``async`` handler.

    Calling the route object calls the handler.
    """

    kind = "route"

    def __init__(self, method: str, path: str, fn: RouteHandler) -> None:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"route {method} {path} needs an async def, got {source_of(fn)}")
        self.method = method
        self.path = RoutePattern(path)
        self.fn = fn
        self.name = f"{method} {path}"
        self.source = source_of(fn)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<route {self.name}>"

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        return await self.fn(request)


class Middleware(Definition):
    """Wraps every HTTP request of the service: ``async def mw(request, next)``.

    A middleware may read or replace the request before calling ``await
    next(request)``, change the response it returns, or answer on its own.
    Middlewares run in the order the service defines them.
    """

    kind = "middleware"

    def __init__(self, fn: MiddlewareFn) -> None:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"middleware needs an async def, got {source_of(fn)}")
        self.fn = fn
        self.name = getattr(fn, "__name__", "middleware")
        self.source = source_of(fn)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<middleware {self.name}>"

    async def __call__(self, request: HttpRequest, next: Next) -> HttpResponse:
        return await self.fn(request, next)


class _Api:
    """Factories for REST routes and middleware (``eventual.api``)."""

    def route(self, method: str, path: str) -> Callable[[RouteHandler], Route]:
        """Define a route for ``method`` (one of GET, POST, PUT, PATCH, DELETE) and ``path``."""
        method = method.upper()
        if method not in HTTP_METHODS:
            raise ValueError(f"unsupported HTTP method {method!r}; use one of {HTTP_METHODS}")
        RoutePattern(path)
        return lambda fn: Route(method, path, fn)

    def get(self, path: str) -> Callable[[RouteHandler], Route]:
        """Define a GET route, e.g. ``@api.get("/orders/{order_id}")``."""
        return self.route("GET", path)

    def post(self, path: str) -> Callable[[RouteHandler], Route]:
        """Define a POST route."""
        return self.route("POST", path)

    def put(self, path: str) -> Callable[[RouteHandler], Route]:
        """Define a PUT route."""
        return self.route("PUT", path)

    def patch(self, path: str) -> Callable[[RouteHandler], Route]:
        """Define a PATCH route."""
        return self.route("PATCH", path)

    def delete(self, path: str) -> Callable[[RouteHandler], Route]:
        """Define a DELETE route."""
        return self.route("DELETE", path)

    def middleware(self, fn: MiddlewareFn) -> Middleware:
        """Define a middleware wrapping every request: ``async def mw(request, next)``."""
        return Middleware(fn)


api: Final = _Api()
