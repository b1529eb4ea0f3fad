"""The HTTP API's routes: commands, REST routes, the system API and the OpenAPI document.

The system API (``/_eventual/...``: start, signal, cancel, complete tasks) takes
only SigV4-signed requests (IAM authorization), which the CLI and
``ServiceClient`` sign from the standard AWS credential chain. The OpenAPI
document is public, as the service's own routes are: it describes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from ._manifest import Manifest
from ._names import PlanError
from ._resources import RoutePlan

__all__ = ["ROUTE_LIMIT", "SYSTEM_PATH", "routes"]

ROUTE_LIMIT: Final = 300
"""API Gateway's default quota of routes per HTTP API."""
SYSTEM_PATH: Final = "/_eventual/{proxy+}"
OPENAPI_PATH: Final = "/_eventual/openapi.json"
# A literal path segment: RFC 3986's characters of a path segment, which is what
# API Gateway accepts in a route key; parameters are whole segments, ``{name}``.
_LITERAL: Final = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@%-]+$")
_PARAMETER: Final = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*\}$")


def _check_path(path: str, what: str) -> str:
    segments = [] if path == "/" else path.strip("/").split("/")
    for segment in segments:
        if not (_LITERAL.match(segment) or _PARAMETER.match(segment)):
            raise PlanError(
                f"{what} has the path {path!r}, whose segment {segment!r} API Gateway does "
                "not accept in a route: use letters, digits and -._~!$&'()*+,;=:@% or a "
                "whole {parameter}"
            )
    return path


def routes(manifest: Manifest, own_functions: Mapping[str, str]) -> tuple[RoutePlan, ...]:
    """Return every route of the service, sorted by path then method.

    Args:
        manifest: The service's manifest.
        own_functions: The function of each command that has its own; the others
            are served by ``api``.

    Raises:
        PlanError: A path API Gateway does not accept, or more routes than an
            HTTP API takes.
    """
    found = [
        RoutePlan(
            method="ANY",
            path=SYSTEM_PATH,
            function="api",
            authorization="iam",
            serves="system API",
        ),
        RoutePlan(
            method="GET",
            path=OPENAPI_PATH,
            function="api",
            authorization="none",
            serves="OpenAPI document",
        ),
    ]
    for command in manifest.commands:
        for endpoint in command.endpoints:
            found.append(
                RoutePlan(
                    method=endpoint.method,
                    path=_check_path(endpoint.path, command.label),
                    function=own_functions.get(command.name, "api"),
                    authorization="none",
                    serves=f"command {command.name}",
                )
            )
    for route in manifest.routes:
        for endpoint in route.endpoints:
            found.append(
                RoutePlan(
                    method=endpoint.method,
                    path=_check_path(endpoint.path, route.label),
                    function="api",
                    authorization="none",
                    serves=f"route {route.name}",
                )
            )
    if len(found) > ROUTE_LIMIT:
        raise PlanError(
            f"service {manifest.service!r} needs {len(found)} HTTP routes, more than the "
            f"{ROUTE_LIMIT} an API Gateway HTTP API takes by default"
        )
    return tuple(sorted(found, key=lambda r: (r.path, r.method)))
