"""A task's function: runs the attempt its queue's message names."""

from __future__ import annotations

from typing import Any

from eventual_aws._lambda import run

__all__ = ["handler"]


def handler(event: dict[str, Any], context: object) -> dict[str, Any] | None:
    """Lambda's entry point (``eventual_aws.handlers.task.handler``)."""
    return run("task", event, context)
