"""The orchestrator function: one step per execution rung on the workflow queue (SQS FIFO)."""

from __future__ import annotations

from typing import Any

from eventual_aws._lambda import run

__all__ = ["handler"]


def handler(event: dict[str, Any], context: object) -> dict[str, Any] | None:
    """Lambda's entry point (``eventual_aws.handlers.orchestrator.handler``)."""
    return run("orchestrator", event, context)
