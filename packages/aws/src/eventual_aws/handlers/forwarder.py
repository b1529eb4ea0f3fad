"""The scheduler's forwarder: fires a timer whose one-time schedule ran, or queues it."""

from __future__ import annotations

from typing import Any

from eventual_aws._lambda import run

__all__ = ["handler"]


def handler(event: dict[str, Any], context: object) -> dict[str, Any] | None:
    """Lambda's entry point (``eventual_aws.handlers.forwarder.handler``)."""
    return run("forwarder", event, context)
