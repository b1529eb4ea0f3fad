"""The HTTP function: API Gateway HTTP API (payload 2.0) events, answered by ``HttpApp``."""

from __future__ import annotations

from typing import Any

from eventual_aws._lambda import run

__all__ = ["handler"]


def handler(event: dict[str, Any], context: object) -> dict[str, Any] | None:
    """Lambda's entry point (``eventual_aws.handlers.api.handler``)."""
    return run("api", event, context)
