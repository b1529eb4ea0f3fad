"""The Lambda runtime behind ``eventual_aws.handlers``: one entry point for every kind.

``invoke_async(kind, event, context, environment)`` runs one invocation inside
any running event loop: the simulator calls it on its own loop with each
function's environment; a handler module calls :func:`run`, which drives it on
one event loop kept for the life of the process, so boto3 clients, their
connections and the orchestrator's cache stay warm across invocations.

Runtimes (service, backend, bus, client, workers) are built on first use and
kept per environment; :func:`request_counts` sums the AWS requests of them all.
Importing this module imports neither boto3 nor the engine: they are imported
when the first runtime is built, so a handler module's own import stays cheap.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from ._faults import CRASH_POINTS, InjectedCrash
from ._log import install, log_context
from ._sqs import BadEvent

if TYPE_CHECKING:
    from ._runtime import Runtime

__all__ = [
    "CRASH_POINTS",
    "BadEvent",
    "KINDS",
    "InjectedCrash",
    "close_runtimes",
    "invoke_async",
    "request_counts",
    "run",
    "runtime_for",
]

log = logging.getLogger("eventual.aws.lambda")

KINDS: Final = ("orchestrator", "task", "timer", "forwarder", "subscription", "api")
"""The function kinds of the plan, each served by ``eventual_aws.handlers.<kind>``."""

_runtimes: dict[tuple[tuple[str, str], ...], Runtime] = {}
_loop: asyncio.AbstractEventLoop | None = None

Handler = Callable[["Runtime", object, object], Awaitable[Any]]


def _handler(kind: str) -> Handler:
    if kind == "orchestrator":
        from ._workflow import orchestrate

        return orchestrate
    if kind == "api":
        from ._api import handle_http

        return handle_http
    from . import _work

    handlers: dict[str, Handler] = {
        "task": _work.run_task,
        "timer": _work.timer,
        "forwarder": _work.forward,
        "subscription": _work.deliver,
    }
    if kind not in handlers:
        raise ValueError(f"no function kind {kind!r}; the kinds are {', '.join(KINDS)}")
    return handlers[kind]


def runtime_for(environment: Mapping[str, str]) -> Runtime:
    """Return the runtime of a function's configuration, built on first use.

    Raises:
        EventualError: The configuration misses a variable the plan sets (named).
        ServiceLoadError: The service module does not import.
    """
    from ._runtime import Runtime, environment_key

    key = environment_key(environment)
    runtime = _runtimes.get(key)
    if runtime is None:
        install(environment)
        runtime = _runtimes[key] = Runtime(environment)
    return runtime


async def invoke_async(
    kind: str, event: dict[str, Any], context: object, environment: Mapping[str, str]
) -> dict[str, Any] | None:
    """Run one invocation of a function of ``kind`` and return its answer.

    Args:
        kind: ``orchestrator``, ``task``, ``timer``, ``forwarder``, ``subscription`` or ``api``.
        event: The Lambda event (SQS, the schedule's input, or API Gateway payload 2.0).
        context: The Lambda context (``aws_request_id``, ``get_remaining_time_in_millis``),
            or any object; missing attributes have defaults.
        environment: The function's configuration (``FunctionPlan.environment`` resolved).

    Returns:
        The partial batch response of SQS kinds, the forwarder's outcome, or the
        API Gateway response.

    Raises:
        BadEvent: The event is not of the shape the kind's trigger sends (an SQS
            batch then returns to its queue, and dead-letters after its receives).
        InjectedCrash: A crash point armed in the runtime's ``faults`` was reached.
    """
    handler = _handler(kind)
    runtime = runtime_for(environment)
    request_id = getattr(context, "aws_request_id", None)
    with log_context(function_kind=kind, aws_request_id=request_id):
        answer: dict[str, Any] | None = await handler(runtime, event, context)
        return answer


def run(kind: str, event: dict[str, Any], context: object) -> dict[str, Any] | None:
    """Run one invocation on the process's persistent event loop, configured by ``os.environ``."""
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    return _loop.run_until_complete(invoke_async(kind, event, context, os.environ))


def request_counts() -> Counter[str]:
    """Return the AWS requests every runtime of this process sent, by ``"service.Operation"``."""
    total: Counter[str] = Counter()
    for runtime in _runtimes.values():
        total.update(runtime.requests)
    return total


async def close_runtimes() -> None:
    """Close every runtime's clients and forget them (the next invocation builds anew)."""
    runtimes = list(_runtimes.values())
    _runtimes.clear()
    for runtime in runtimes:
        await runtime.close()
