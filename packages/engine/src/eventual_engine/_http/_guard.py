"""Checks made at the edge, before a request reaches any endpoint.

A server on 127.0.0.1 without a token is still reachable from every web page
the user opens: a page may send "simple" cross-site requests (a ``text/plain``
POST needs no CORS preflight), and a page whose name is rebound to 127.0.0.1
(DNS rebinding) is same-origin with the server and reads its answers. So:

* ``Host`` must be one of ``HttpOptions.allowed_hosts`` (421), which defeats
  rebinding: the browser sends the attacker's name;
* JSON bodies must say so (``application/json`` or ``*/*+json``; 415), which
  a simple request cannot, so a cross-site page needs a preflight it never gets;
* state-changing requests from another origin (``Origin``, or
  ``Sec-Fetch-Site: cross-site`` where a browser sends no ``Origin``) get 403.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

from eventual import HttpRequest

from ._options import HttpOptions
from ._responses import ApiError

__all__ = ["SAFE_METHODS", "check_host", "check_json_type", "check_origin", "host_name"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def host_name(host: str) -> str:
    """Return a ``Host`` header's name without its port, lower-case (``[::1]`` kept)."""
    return _split_host(host)[0]


def check_host(headers: Mapping[str, str], options: HttpOptions) -> None:
    """Refuse a request whose ``Host`` is not an allowed name.

    Raises:
        ApiError: 421 naming the host and the allowed names.
    """
    allowed = options.allowed_hosts
    if allowed is None:
        return
    given = headers.get("host", "")
    if host_name(given) in allowed:
        return
    raise ApiError(
        421,
        f"this server answers only requests for {', '.join(allowed)}, not host {given!r}; "
        "use one of those names in the URL (or, when serving, set HttpOptions.allowed_hosts)",
        {"host": given, "allowed": list(allowed)},
    )


def _split_host(host: str) -> tuple[str, str]:
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host.partition("]")
        return name + "]", rest.removeprefix(":")
    name, _, port = host.partition(":")
    return name, port


def _own_origin(scheme: str, host: str) -> str:
    name, port = _split_host(host)
    if port == _DEFAULT_PORTS.get(scheme):
        port = ""
    return f"{scheme}://{name}{':' + port if port else ''}"


def _normal_origin(origin: str) -> str:
    parts = urllib.parse.urlsplit(origin.strip().lower())
    return _own_origin(parts.scheme, parts.netloc)


def check_origin(request: HttpRequest, options: HttpOptions, scheme: str = "http") -> None:
    """Refuse a state-changing request a browser sent from another site.

    The server's own origin (from ``Host``; any scheme) and
    ``HttpOptions.allowed_origins`` may send them; a request without ``Origin``
    (curl, scripts, the CLI) may too, unless the browser marked it cross-site.

    Raises:
        ApiError: 403 naming the origin.
    """
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is None:
        if request.headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
            raise ApiError(
                403,
                f"cross-site {request.method} requests are refused; send it from a page "
                "of this server, or from a program",
                {"sec-fetch-site": "cross-site"},
            )
        return
    normal = _normal_origin(origin)
    host = request.headers.get("host", "")
    own = {_own_origin(scheme, host) for scheme in ("http", "https")}
    if normal in own or normal in options.allowed_origins:
        return
    raise ApiError(
        403,
        f"{request.method} from origin {origin!r} is refused: it is another site than this "
        "server's; list it in HttpOptions.allowed_origins to allow it",
        {"origin": origin},
    )


def check_json_type(request: HttpRequest) -> None:
    """Refuse a body that does not declare itself JSON (an empty body needs nothing).

    Raises:
        ApiError: 415 naming the content type that was sent.
    """
    if not request.body:
        return
    given = request.headers.get("content-type", "")
    media = given.partition(";")[0].strip().lower()
    kind, _, subtype = media.partition("/")
    if kind and (media == "application/json" or subtype.endswith("+json")):
        return
    shown = repr(given) if given else "none"
    raise ApiError(
        415,
        f"the body must be JSON sent with `content-type: application/json`, got {shown}; "
        "with curl, add -H 'content-type: application/json'",
        {"content_type": given or None},
    )
