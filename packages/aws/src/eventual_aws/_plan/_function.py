"""A function of the plan: one Lambda function per handler."""

from __future__ import annotations

from typing import Final, Literal, get_args

import attrs

from ._resources import StatementPlan

__all__ = ["FUNCTION_KINDS", "EventSourcePlan", "FunctionKind", "FunctionPlan"]

FunctionKind = Literal["orchestrator", "task", "timer", "forwarder", "subscription", "api"]
"""What a function runs; its handler is ``eventual_aws.handlers.<kind>.handler``."""

FUNCTION_KINDS: Final[tuple[FunctionKind, ...]] = get_args(FunctionKind)


@attrs.frozen(kw_only=True)
class EventSourcePlan:
    """An SQS event source mapping: the queue a function consumes and how.

    Attributes:
        queue: The plan id of the queue.
        batch_size: The most messages per invocation.
        batching_window_s: How long Lambda gathers a batch (0 for FIFO queues,
            which take no window).
        report_batch_item_failures: The handler answers ``batchItemFailures``
            (``ReportBatchItemFailures``), so one failed message does not fail
            its batch.
        maximum_concurrency: The mapping's ``ScalingConfig.MaximumConcurrency``
            (2 at the least), or ``None`` for no limit.
    """

    queue: str
    batch_size: int
    batching_window_s: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None = None


@attrs.frozen(kw_only=True)
class FunctionPlan:
    """One Lambda function: what it runs, its size, configuration, sources and rights.

    Attributes:
        name: The plan's name of the function (``orchestrator``, ``api``,
            ``task-<task>``, ``subscription-<subscription>``, ``api-<command>``);
            a task's or subscription's function name contains its name.
        kind: ``orchestrator``, ``task``, ``timer``, ``forwarder``,
            ``subscription`` or ``api``.
        handler: ``eventual_aws.handlers.<kind>.handler``.
        physical_name: The Lambda function name (at most 64 characters).
        memory_mb: Memory, in MB.
        timeout_s: Timeout, in seconds.
        environment: The variables every renderer sets; values may hold
            placeholders (``${queue.workflow.url}``).
        event_sources: The queues it consumes.
        reserved_concurrency: Reserved concurrent executions, or ``None``.
        statements: The IAM statements of its role, its log group's included.
        log_group: The plan id of its log group.
        runtime: The Lambda runtime.
        architecture: The instruction set.
    """

    name: str
    kind: FunctionKind
    handler: str
    physical_name: str
    memory_mb: int
    timeout_s: int
    environment: dict[str, str]
    event_sources: tuple[EventSourcePlan, ...]
    reserved_concurrency: int | None
    statements: tuple[StatementPlan, ...]
    log_group: str
    runtime: str = "python3.11"
    architecture: Literal["arm64", "x86_64"] = "arm64"

    @property
    def id(self) -> str:
        """The function's plan id: ``function.<name>``."""
        return f"function.{self.name}"
