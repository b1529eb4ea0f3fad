"""Running the plan's handlers in this process, as Lambda would run them.

:class:`Functions` is the seam between the simulator and the handlers: the
default one calls ``eventual_aws._lambda.invoke_async``, which keeps one
runtime per function environment (the service, its clients, a warm
orchestrator), as a Lambda execution environment keeps them between
invocations. Tests may hand the simulator another.

:class:`Invoker` adds what the simulator emulates around each invocation: the
function's timeout, and crashes injected on purpose (an invocation that ran
and then died before answering, so its messages are delivered again).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any, Protocol

from .._plan import FunctionPlan
from ._events import LambdaContext

__all__ = ["Crashed", "Functions", "Invoker", "LambdaFunctions"]

log = logging.getLogger("eventual.aws.simulator")


class Functions(Protocol):
    """Runs handlers in-process: ``eventual_aws.handlers.<kind>.handler`` in effect."""

    async def invoke(
        self, kind: str, event: Mapping[str, Any], context: object, environment: Mapping[str, str]
    ) -> dict[str, Any] | None:
        """Run one invocation of a function of ``kind`` and return its answer."""

    def requests(self) -> Counter[str]:
        """AWS requests the functions sent so far, by ``"service.Operation"``."""

    async def close(self) -> None:
        """Release the functions' runtimes (clients, threads)."""


class LambdaFunctions:
    """The handlers of ``eventual_aws._lambda``, one cached runtime per environment."""

    def __init__(self) -> None:
        from .. import _lambda

        self._lambda: Any = _lambda

    async def invoke(
        self, kind: str, event: Mapping[str, Any], context: object, environment: Mapping[str, str]
    ) -> dict[str, Any] | None:
        """Run the handler of ``kind`` on ``event``."""
        answer: dict[str, Any] | None = await self._lambda.invoke_async(
            kind, dict(event), context, dict(environment)
        )
        return answer

    def requests(self) -> Counter[str]:
        """Sum the AWS requests of every cached runtime."""
        counted: Counter[str] = self._lambda.request_counts()
        return counted

    def arm(self, point: str, environment: Mapping[str, str], times: int) -> None:
        """Crash the next ``times`` passes through a handler's crash point (``task.ran``)."""
        self._lambda.runtime_for(environment).faults.arm(point, times)

    async def close(self) -> None:
        """Close every cached runtime."""
        await self._lambda.close_runtimes()


class Crashed(Exception):
    """An invocation failed as Lambda reports it: it raised, timed out, or was made to crash."""


class Invoker:
    """Invokes functions with a fresh context, their timeout and injected crashes."""

    def __init__(
        self,
        functions: Functions,
        environments: Mapping[str, Mapping[str, str]],
        arns: Mapping[str, str],
    ) -> None:
        self.functions = functions
        self._environments = environments
        self._arns = arns
        self._crashes: Counter[str] = Counter()
        self.invocations: Counter[str] = Counter()

    def crash_after(self, kind: str, times: int = 1) -> None:
        """Make the next ``times`` invocations of functions of ``kind`` die after they ran."""
        self._crashes[kind] += times

    async def invoke(
        self, function: FunctionPlan, event: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Run one invocation of ``function``.

        Raises:
            Crashed: The handler raised, ran past the function's timeout, or was
                made to crash; Lambda would report a function error.
        """
        context = LambdaContext.of(function, self._arns[function.name])
        self.invocations[function.name] += 1
        try:
            answer = await asyncio.wait_for(
                self.functions.invoke(
                    function.kind, event, context, self._environments[function.name]
                ),
                timeout=function.timeout_s,
            )
        except TimeoutError:
            raise Crashed(f"{function.name} timed out after {function.timeout_s} s") from None
        except Exception as error:
            log.warning("function %s failed: %r", function.name, error)
            raise Crashed(f"{function.name} raised {error!r}") from error
        except BaseException as error:
            if isinstance(error, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                raise
            # A crash injected inside a handler is a BaseException (no handler catches it).
            raise Crashed(f"{function.name} crashed: {error!r}") from error
        if self._crashes[function.kind] > 0:
            self._crashes[function.kind] -= 1
            raise Crashed(f"{function.name} was made to crash after it ran")
        return answer
