"""Signals inside one execution: kept in arrival order until consumed.

``on`` handlers take every signal of their name; otherwise an ``expect`` takes
one; a signal nobody consumes yet is kept. Signals carry an id, so a
redelivered one is applied once (``_repeats``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from eventual import Timeout
from eventual.codec import JsonValue

__all__ = ["Handler", "SignalBox"]


class Handler:
    """A registered ``on`` handler; ``dispose()`` unregisters it."""

    def __init__(self, box: SignalBox, signal: str, fn: Callable[[JsonValue], object]) -> None:
        self._box = box
        self.signal = signal
        self.fn = fn

    def dispose(self) -> None:
        """Stop delivering signals to this handler."""
        handlers = self._box.handlers_of(self.signal)
        if self in handlers:
            handlers.remove(self)


class SignalBox:
    """The signals of one execution: kept ones, waiting ``expect``s and handlers.

    Args:
        loop: The execution's deterministic loop (futures and timeouts).
        spawn: Runs a coroutine a handler returned as a task of the workflow.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        spawn: Callable[[Coroutine[Any, Any, object]], object],
    ) -> None:
        self._loop = loop
        self._spawn = spawn
        self._kept: dict[str, deque[JsonValue]] = {}
        self._waiters: dict[str, deque[asyncio.Future[JsonValue]]] = {}
        self._handlers: dict[str, list[Handler]] = {}

    def deliver(self, name: str, payload: JsonValue) -> None:
        """Hand a signal to its handlers, else to the oldest ``expect``, else keep it."""
        handlers = self._handlers.get(name)
        if handlers:
            for handler in list(handlers):
                self._call(handler, payload)
            return
        waiters = self._waiters.get(name)
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(payload)
                return
        self._kept.setdefault(name, deque()).append(payload)

    def expect(self, name: str, timeout: timedelta | None) -> Awaitable[JsonValue]:
        """Take the next signal of that name; raise ``Timeout`` after ``timeout``."""
        future: asyncio.Future[JsonValue] = self._loop.create_future()
        kept = self._kept.get(name)
        if kept:
            future.set_result(kept.popleft())
            return future
        self._waiters.setdefault(name, deque()).append(future)
        if timeout is not None:

            def expire() -> None:
                if not future.done():
                    future.set_exception(Timeout(f"no signal {name!r} arrived within {timeout}"))

            handle = self._loop.call_later(timeout.total_seconds(), expire)
            future.add_done_callback(lambda _: handle.cancel())
        return future

    def on(self, name: str, fn: Callable[[JsonValue], object]) -> Handler:
        """Register a handler; the signals kept so far are delivered to it first."""
        handler = Handler(self, name, fn)
        self._handlers.setdefault(name, []).append(handler)
        kept = self._kept.pop(name, None)
        while kept:
            self._call(handler, kept.popleft())
        return handler

    def kept(self) -> list[tuple[str, JsonValue]]:
        """Return the signals kept and not consumed, as (name, payload), each name's in order."""
        return [(name, payload) for name, payloads in self._kept.items() for payload in payloads]

    def handlers_of(self, name: str) -> list[Handler]:
        """Return the live handler list of a signal (for ``Handler.dispose``)."""
        return self._handlers.setdefault(name, [])

    def _call(self, handler: Handler, payload: JsonValue) -> None:
        result = handler.fn(payload)
        if asyncio.iscoroutine(result):
            self._spawn(result)
