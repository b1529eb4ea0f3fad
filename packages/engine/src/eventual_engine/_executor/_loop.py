"""A deterministic asyncio event loop for workflow code.

Workflow code is ordinary ``async`` code, so it must run on an asyncio loop; but
a real loop reads the wall clock, runs I/O and orders callbacks by real time.
This loop has no I/O and no clock of its own: ``time()`` is the execution's
recorded time, ``call_at``/``call_later`` become durable timers (so
``asyncio.sleep`` and ``asyncio.wait_for`` inside a workflow are durable), and
ready callbacks run strictly in FIFO order when the executor drives the loop.
That is what makes replaying the same history produce the same calls.

We considered running workflow coroutines by hand (``coro.send``) as the
TypeScript eventual does with generators, but then ``asyncio.gather``,
``asyncio.Event`` and ``create_task`` would not work; a real loop subclass keeps
the standard library's semantics (the approach of Temporal's Python SDK).
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from collections.abc import Callable, Coroutine, Generator
from typing import Any, Protocol, TypeVar, TypeVarTuple

from eventual import EventualError

__all__ = ["DeterministicLoop", "TimerOwner"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class TimerOwner(Protocol):
    """The executor side of the loop: owns the clock and durable timers."""

    def loop_time(self) -> float:
        """Return the execution's current time in epoch seconds."""

    def start_loop_timer(
        self, when: float, handle: asyncio.TimerHandle, fire: Callable[[], None]
    ) -> None:
        """Record a durable timer due at epoch second ``when``; ``fire()`` when it fires."""

    def cancel_loop_timer(self, handle: asyncio.TimerHandle) -> None:
        """Forget a timer whose handle was cancelled."""

    def report_error(self, context: dict[str, Any]) -> None:
        """Receive an error that no workflow code caught (loop exception handler)."""


class DeterministicLoop(asyncio.AbstractEventLoop):
    """An event loop that only runs when told and keeps no clock of its own."""

    def __init__(self, owner: TimerOwner) -> None:
        self._owner = owner
        self._ready: collections.deque[
            tuple[asyncio.Handle, Callable[..., object], tuple[Any, ...], contextvars.Context]
        ] = collections.deque()
        self._closed = False

    # --- driving ---------------------------------------------------------------

    def run_ready(self) -> bool:
        """Run ready callbacks until none is left; return whether any ran."""
        ran = False
        previous = asyncio.events._get_running_loop()
        # Workflow code calls asyncio.get_running_loop(); it must see this loop
        # while it runs, even though the host loop runs in the same thread.
        asyncio.events._set_running_loop(self)
        try:
            while self._ready:
                handle, callback, args, context = self._ready.popleft()
                if handle.cancelled():
                    continue
                ran = True
                try:
                    context.run(callback, *args)
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as error:
                    self.call_exception_handler(
                        {"message": "exception in workflow callback", "exception": error}
                    )
        finally:
            asyncio.events._set_running_loop(previous)
        return ran

    # --- the loop API workflow code reaches ---------------------------------------

    def call_soon(
        self,
        callback: Callable[[*Ts], object],
        *args: *Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        ctx = context if context is not None else contextvars.copy_context()
        handle = asyncio.Handle(callback, args, self, ctx)
        self._ready.append((handle, callback, args, ctx))
        return handle

    def call_soon_threadsafe(
        self,
        callback: Callable[[*Ts], object],
        *args: *Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        raise EventualError(
            "threads cannot schedule work inside a workflow; move threaded code into a @task"
        )

    def call_later(
        self,
        delay: float,
        callback: Callable[[*Ts], object],
        *args: *Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        return self.call_at(self.time() + max(delay, 0.0), callback, *args, context=context)

    def call_at(
        self,
        when: float,
        callback: Callable[[*Ts], object],
        *args: *Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        ctx = context if context is not None else contextvars.copy_context()
        handle = asyncio.TimerHandle(when, callback, args, self, ctx)

        def fire() -> None:
            if not handle.cancelled():
                self._ready.append((handle, callback, args, ctx))

        self._owner.start_loop_timer(when, handle, fire)
        return handle

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        # Called by TimerHandle.cancel(); a cancelled durable timer is simply ignored.
        self._owner.cancel_loop_timer(handle)

    def time(self) -> float:
        return self._owner.loop_time()

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(
        self,
        coro: Coroutine[Any, Any, T] | Generator[Any, None, T],
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[T]:
        return asyncio.Task(coro, loop=self, name=name, context=context)

    def get_debug(self) -> bool:
        return False

    def is_running(self) -> bool:
        return True

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._ready.clear()

    def get_exception_handler(self) -> None:
        return None

    def set_exception_handler(self, handler: object) -> None:
        raise EventualError("workflow code cannot change the workflow loop's exception handler")

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        self._owner.report_error(context)

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        self._owner.report_error(context)

    def run_in_executor(
        self, executor: object, func: Callable[[*Ts], T], *args: *Ts
    ) -> asyncio.Future[T]:
        raise EventualError(
            "run_in_executor is not deterministic and cannot run inside a workflow; "
            "put blocking code in a @task (a plain def task runs in a thread)"
        )
