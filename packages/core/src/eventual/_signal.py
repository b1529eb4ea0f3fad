"""Signals: typed messages sent into a running execution."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Generic, TypeVar, cast, overload

from ._codec import JsonValue, decode, encode
from ._definition import Definition, check_name
from ._errors import RuntimeNotAvailable
from ._runtime import Disposable, current_workflow_runtime, require_client

__all__ = ["Signal", "signal"]

T = TypeVar("T")


class Signal(Definition, Generic[T]):
    """A signal definition: a name and a payload type.

    Attributes:
        payload_type: The type payloads are checked against and decoded to.
    """

    kind = "signal"

    def __init__(self, name: str, payload_type: type[T] | Any) -> None:
        self.name = check_name("signal", name)
        self.payload_type = payload_type
        # Refined to ``module:attribute`` by service discovery, which knows where it is.
        self.source = name

    def __repr__(self) -> str:
        return f"<signal {self.name}>"

    def _decode(self, data: JsonValue) -> T:
        # The codec built a value of the declared type, which mypy only sees as Any.
        return cast(T, decode(data, self.payload_type, path=f"signal {self.name}"))

    async def expect(self, timeout: timedelta | float | None = None) -> T:
        """Inside a workflow, wait for the next signal and return its payload.

        A signal that arrived earlier and was not consumed is taken first.

        Raises:
            Timeout: No signal arrived within ``timeout``.
        """
        runtime = current_workflow_runtime()
        if runtime is None:
            raise RuntimeNotAvailable(f"{self.name}.expect() can only be awaited inside a workflow")
        if isinstance(timeout, int | float):
            timeout = timedelta(seconds=timeout)
        return self._decode(await runtime.expect_signal(self.name, timeout))

    def on(self, handler: Callable[[T], Awaitable[None] | None]) -> Disposable:
        """Inside a workflow, call ``handler`` with every payload of this signal.

        Signals kept from before are delivered first. Returns an object whose
        ``dispose()`` removes the handler.
        """
        runtime = current_workflow_runtime()
        if runtime is None:
            raise RuntimeNotAvailable(f"{self.name}.on() can only be used inside a workflow")
        return runtime.on_signal(self.name, lambda data: handler(self._decode(data)))

    async def send(self, execution_id: str, payload: T) -> None:
        """Send the signal to an execution; discarded if the execution has ended."""
        data = encode(payload, self.payload_type)
        runtime = current_workflow_runtime()
        if runtime is not None:
            await runtime.send_signal(execution_id, self.name, data)
        else:
            await require_client(f"{self.name}.send()").send_signal(execution_id, self.name, data)


@overload
def signal(name: str) -> Signal[None]: ...
@overload
def signal(name: str, payload_type: type[T]) -> Signal[T]: ...
@overload
def signal(name: str, payload_type: Any) -> Signal[Any]: ...
def signal(name: str, payload_type: Any = None) -> Signal[Any]:
    """Define a signal.

    Args:
        name: The signal's name.
        payload_type: The payload's type; ``None`` for a signal without payload.
    """
    return Signal(name, type(None) if payload_type is None else payload_type)
