"""Handles on workflow executions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from ._codec import decode, encode
from ._runtime import ExecutionControl, current_workflow_runtime, require_client

if TYPE_CHECKING:
    from ._history import HistoryEvent
    from ._info import ExecutionStatus
    from ._signal import Signal

__all__ = ["ExecutionHandle"]

R = TypeVar("R")
P = TypeVar("P")


class ExecutionHandle(Generic[R]):
    """A reference to one workflow execution, usable from anywhere.

    Handles from ``wf.start``, a ``ServiceClient``, a ``LocalRuntime`` or a test
    environment all behave the same way.

    Attributes:
        id: The execution id, ``"{workflow}/{name}"``.
    """

    __slots__ = ("_control", "_result_type", "id")

    def __init__(
        self, id: str, *, control: ExecutionControl | None = None, result_type: Any = Any
    ) -> None:
        self.id = id
        self._control = control
        self._result_type = result_type

    def __repr__(self) -> str:
        return f"ExecutionHandle({self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExecutionHandle) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def _ctl(self) -> ExecutionControl:
        if self._control is not None:
            return self._control
        runtime = current_workflow_runtime()
        if runtime is not None:
            return runtime.execution_control()
        return require_client(f"ExecutionHandle({self.id!r})")

    async def status(self) -> ExecutionStatus:
        """Return the execution's current status."""
        return await self._ctl().execution_status(self.id)

    async def result(self) -> R:
        """Wait for the execution to end and return its result.

        Raises:
            WorkflowFailed: The execution failed, timed out or was cancelled.
        """
        data = await self._ctl().execution_result(self.id)
        # The codec built a value of the declared type, which mypy only sees as Any.
        return cast(R, decode(data, self._result_type, path="result"))

    async def signal(self, signal: Signal[P], payload: P) -> None:
        """Send ``signal`` with ``payload`` to the execution."""
        data = encode(payload, signal.payload_type)
        await self._ctl().send_signal(self.id, signal.name, data)

    async def cancel(self) -> None:
        """Ask the execution to cancel; its workflow sees ``asyncio.CancelledError``."""
        await self._ctl().cancel_execution(self.id)

    async def history(self) -> list[HistoryEvent]:
        """Return the execution's recorded history events, oldest first."""
        return await self._ctl().execution_history(self.id)
