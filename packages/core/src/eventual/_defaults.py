"""Open runtimes as the default client of their event loop and of other threads.

A context variable is the explicit ambient client (``async with runtime:`` sets
it for the code inside), but a context variable does not cross tasks that were
not started from inside the block: a web framework enters a runtime in its
lifespan task and answers each request in another task, which never sees it.
So an open runtime (or an open ``ServiceClient``) also registers itself here,
and a call that finds no explicit client takes the default:

1. the innermost explicit client (the context variable) always wins;
2. else the most recently opened default of the running event loop;
3. else the most recently opened default of any other loop, reached through a
   proxy that runs each call on that runtime's own loop, because an engine's
   locks, queues and wake-ups belong to the loop that opened it. That is what
   code in another thread gets (a synchronous view that runs a coroutine with
   ``asyncio.run``, a worker thread).

With two runtimes open at once, the one opened last is the default until it
closes, and then the other one is again: defaults nest like the ``async with``
blocks that usually open them. Code that must reach a particular one says so,
with ``runtime.start(...)`` or inside its ``async with`` block.

Rejected: a single process-wide default set by the first runtime (it would make
the second one unreachable without saying so), and raising when two are open
(a test that opens a runtime per service, or a service that calls another
through a ``ServiceClient``, is common and each has a clear innermost owner).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from datetime import datetime

    from ._codec import JsonValue
    from ._history import HistoryEvent
    from ._info import ExecutionStatus
    from ._runtime import Client

__all__ = ["DefaultClient", "add_default_client", "default_client", "for_this_loop"]

T = TypeVar("T")


class DefaultClient:
    """A client registered as a default; :meth:`dispose` withdraws it."""

    __slots__ = ("client", "loop", "proxy")

    def __init__(self, client: Client, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.loop = loop
        self.proxy = _OnLoop(client, loop)

    def __repr__(self) -> str:
        return f"DefaultClient({self.client!r})"

    def dispose(self) -> None:
        """Stop serving as a default; calling again does nothing."""
        with _lock:
            if self in _defaults:
                _defaults.remove(self)


_lock = threading.Lock()
_defaults: list[DefaultClient] = []  # oldest first


def add_default_client(client: Client) -> DefaultClient:
    """Make ``client`` the default client until the returned registration is disposed.

    Called from a coroutine, by whatever opens the client (``LocalRuntime`` and
    ``ServiceClient`` on ``async with``): the client
    belongs to the running event loop, where calls from other loops are sent.

    Raises:
        RuntimeError: No event loop is running.
    """
    entry = DefaultClient(client, asyncio.get_running_loop())
    with _lock:
        _defaults.append(entry)
    return entry


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def for_this_loop(client: Client) -> Client:
    """Return ``client``, or its proxy when it is a default opened on another loop.

    A thread inherits its starter's context (``asyncio.to_thread`` copies it), so
    code inside ``async with runtime:`` that runs ``asyncio.run(...)`` in a thread
    finds the runtime itself, on a loop that is not its own.
    """
    running = _running_loop()
    with _lock:
        for entry in _defaults:
            if entry.client is client and entry.loop is not running:
                return entry.proxy if entry.loop.is_running() else client
    return client


def default_client() -> Client | None:
    """Return the client that serves code with no explicit client, or None."""
    running = _running_loop()
    with _lock:
        # A registration whose loop is closed was never withdrawn (its owner
        # leaked): it can serve nobody, so drop it instead of routing to it.
        _defaults[:] = [entry for entry in _defaults if not entry.loop.is_closed()]
        entries = list(_defaults)
    for entry in reversed(entries):
        if entry.loop is running:
            return entry.client
    # A loop that is not running now (its owner stopped it without closing the
    # client) would never answer a call sent to it.
    serving = [entry for entry in entries if entry.loop.is_running()]
    return serving[-1].proxy if serving else None


class _OnLoop:
    """A ``Client`` that runs each call on the loop its client belongs to."""

    def __init__(self, client: Client, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop

    def __repr__(self) -> str:
        return f"{self._client!r} (on its own event loop)"

    async def _run(self, call: Awaitable[T]) -> T:
        async def run() -> T:
            return await call

        future = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return await asyncio.wrap_future(future)

    def now(self) -> datetime:
        return self._client.now()

    async def start_execution(
        self, workflow: str, input: JsonValue, name: str | None, *, parent_id: str | None = None
    ) -> str:
        return await self._run(
            self._client.start_execution(workflow, input, name, parent_id=parent_id)
        )

    async def publish_events(self, events: Sequence[tuple[str, JsonValue]]) -> None:
        await self._run(self._client.publish_events(events))

    async def complete_task(self, token: str, result: JsonValue) -> None:
        await self._run(self._client.complete_task(token, result))

    async def fail_task(self, token: str, error_type: str, message: str) -> None:
        await self._run(self._client.fail_task(token, error_type, message))

    async def execution_status(self, execution_id: str) -> ExecutionStatus:
        return await self._run(self._client.execution_status(execution_id))

    async def execution_result(self, execution_id: str) -> JsonValue:
        return await self._run(self._client.execution_result(execution_id))

    async def execution_history(self, execution_id: str) -> list[HistoryEvent]:
        return await self._run(self._client.execution_history(execution_id))

    async def cancel_execution(self, execution_id: str) -> None:
        await self._run(self._client.cancel_execution(execution_id))

    async def send_signal(self, execution_id: str, signal: str, payload: JsonValue) -> None:
        await self._run(self._client.send_signal(execution_id, signal, payload))
