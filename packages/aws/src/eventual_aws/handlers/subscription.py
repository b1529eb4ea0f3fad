"""A subscription's function: delivers its queue's events to its handler."""

from __future__ import annotations

from typing import Any

from eventual_aws._lambda import run

__all__ = ["handler"]


def handler(event: dict[str, Any], context: object) -> dict[str, Any] | None:
    """Lambda's entry point (``eventual_aws.handlers.subscription.handler``)."""
    return run("subscription", event, context)
