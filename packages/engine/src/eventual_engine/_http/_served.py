"""What the HTTP application serves: an engine or client, by the protocols it meets.

``HttpApp`` knows no runtime class. It serves anything with the methods of
:class:`ServedEngine`: a ``BackendClient`` (what a loop-less runtime, such as an
API function, has), an ``Engine`` (which also runs the workers), or the test
environment's engine. Two optional parts are found by protocol: an engine that
runs subscriptions in this process (:class:`RunsSubscriptions`: dead letters,
and waking its loops after a redrive) and one whose commands see another
ambient client (:class:`HasAmbientClient`: the test environment's, which applies
mocks). A runtime that makes its engine only once it runs (``LocalRuntime``)
is served through :class:`EngineHolder`, asked for its engine on each request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast, runtime_checkable

from eventual import Service
from eventual.codec import JsonValue
from eventual.history import ExecutionRecord, HistoryEvent
from eventual.spi import Client, ExecutionFilter, ExecutionPage, LogEntry, SubscriptionDelivery

__all__ = [
    "EngineHolder",
    "HasAmbientClient",
    "RunsSubscriptions",
    "ServedEngine",
    "ambient_client",
    "engine_getter",
]


class ServedEngine(Client, Protocol):
    """The ``Client`` of a service, plus what its system API reads."""

    @property
    def service(self) -> Service:
        """The service it runs."""

    async def executions(self, query: ExecutionFilter) -> ExecutionPage:
        """List executions, newest first."""

    async def execution_record(self, execution_id: str) -> ExecutionRecord:
        """Return an execution's record (raises ``ExecutionNotFound``)."""

    async def execution_history(self, execution_id: str, after: int = 0) -> list[HistoryEvent]:
        """Return an execution's history from position ``after`` on."""

    async def execution_logs(self, execution_id: str, after: int = 0) -> list[LogEntry]:
        """Return the log entries kept of an execution, after position ``after``."""

    async def queue_signal(self, execution_id: str, signal: str, payload: JsonValue) -> str | None:
        """Send a signal; return the id of the message queued, None when it had ended."""

    async def wait(self, execution_id: str, timeout: float | None = None) -> ExecutionRecord:
        """Wait until the execution ends (raises ``TimeoutError`` after ``timeout``)."""

    async def wait_for_progress(self, execution_id: str, timeout: float) -> None:
        """Wait until a step of the execution commits here, or ``timeout`` passes."""


@runtime_checkable
class RunsSubscriptions(Protocol):
    """An engine that delivers events to subscriptions in this process."""

    @property
    def subscriptions(self) -> SubscriptionDelivery | None:
        """Deliveries and dead letters; None without an event bus."""

    def notify(self, *loops: str) -> None:
        """Wake the named loops (all when none is named)."""


@runtime_checkable
class HasAmbientClient(Protocol):
    """An engine whose commands and routes see another client than itself."""

    @property
    def client(self) -> Client:
        """The client that code run on behalf of a request uses."""


class EngineHolder(Protocol):
    """A runtime that hands out its engine once it runs (a ``LocalRuntime``)."""

    @property
    def service(self) -> Service:
        """The service it runs."""

    @property
    def engine(self) -> ServedEngine:
        """The running engine (an error before the runtime runs)."""


def engine_getter(runtime: ServedEngine | EngineHolder) -> Callable[[], ServedEngine]:
    """Return how to find the engine of each request.

    A holder is asked on every request (its engine exists only while it runs);
    an engine or client is itself.
    """
    # Looked up on the class: reading a holder's `engine` before it runs raises.
    if hasattr(type(runtime), "engine"):
        holder = cast(EngineHolder, runtime)
        return lambda: holder.engine
    served = cast(ServedEngine, runtime)
    return lambda: served


def ambient_client(engine: ServedEngine) -> Client:
    """Return the client that commands and routes run with."""
    return engine.client if isinstance(engine, HasAmbientClient) else engine
