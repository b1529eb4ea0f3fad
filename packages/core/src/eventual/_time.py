"""Time, randomness and identity: deterministic inside workflows, ordinary outside."""

from __future__ import annotations

import asyncio
import random as _random
import uuid as _uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ._errors import RuntimeNotAvailable
from ._info import ExecutionInfo
from ._runtime import current_client, current_workflow_runtime

__all__ = ["condition", "execution_info", "now", "random", "sleep", "sleep_until", "uuid4"]


def _as_timedelta(value: timedelta | float) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    raise TypeError(f"expected a timedelta or a number of seconds, got {value!r}")


def now() -> datetime:
    """Return the current time, timezone-aware UTC.

    Inside a workflow this is the time recorded in history for the current step,
    so a replay sees the same value; in a test environment it is the virtual clock.
    """
    runtime = current_workflow_runtime()
    if runtime is not None:
        return runtime.now()
    client = current_client()
    return client.now() if client is not None else datetime.now(UTC)


def random() -> float:
    """Return a float in [0, 1); deterministic (seeded per execution) inside a workflow."""
    runtime = current_workflow_runtime()
    return runtime.random() if runtime is not None else _random.random()


def uuid4() -> _uuid.UUID:
    """Return a random UUID; deterministic (seeded per execution) inside a workflow."""
    runtime = current_workflow_runtime()
    return runtime.uuid4() if runtime is not None else _uuid.uuid4()


async def sleep(duration: timedelta | float) -> None:
    """Wait for ``duration`` (timedelta or seconds); a durable timer inside a workflow."""
    delta = _as_timedelta(duration)
    runtime = current_workflow_runtime()
    if runtime is not None:
        await runtime.sleep_until(runtime.now() + delta)
    else:
        await asyncio.sleep(max(delta.total_seconds(), 0.0))


async def sleep_until(when: datetime) -> None:
    """Wait until ``when`` (timezone-aware); a durable timer inside a workflow."""
    if when.tzinfo is None:
        raise ValueError(f"sleep_until needs a timezone-aware datetime, got {when!r}")
    runtime = current_workflow_runtime()
    if runtime is not None:
        await runtime.sleep_until(when)
    else:
        await asyncio.sleep(max((when - now()).total_seconds(), 0.0))


async def condition(
    predicate: Callable[[], bool], timeout: timedelta | float | None = None
) -> bool:
    """Inside a workflow, wait until ``predicate()`` is true.

    The predicate is checked whenever the workflow's state may have changed (after
    each signal, task result or timer).

    Returns:
        True when the predicate held, False when ``timeout`` passed first.
    """
    runtime = current_workflow_runtime()
    if runtime is None:
        raise RuntimeNotAvailable("condition() can only be awaited inside a workflow")
    return await runtime.condition(predicate, None if timeout is None else _as_timedelta(timeout))


def execution_info() -> ExecutionInfo:
    """Inside a workflow, return the running execution's id, workflow, name and parent."""
    runtime = current_workflow_runtime()
    if runtime is None:
        raise RuntimeNotAvailable("execution_info() can only be called inside a workflow")
    return runtime.info()
