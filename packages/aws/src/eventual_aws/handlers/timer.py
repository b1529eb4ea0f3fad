"""The timer function: fires the timers its queue's messages name, when due."""

from __future__ import annotations

from typing import Any

from eventual_aws._lambda import run

__all__ = ["handler"]


def handler(event: dict[str, Any], context: object) -> dict[str, Any] | None:
    """Lambda's entry point (``eventual_aws.handlers.timer.handler``)."""
    return run("timer", event, context)
