"""Event bus interfaces (SPI): how published events reach subscriptions.

An :class:`EventBus` is created by an ``EventBusProvider`` (plugin hook
``eventual_event_bus_providers``). Publishing hands it :class:`EventEnvelope`
values; a running service attaches to it with :meth:`EventBus.attach`, which
registers the service's subscriptions and returns the
:class:`SubscriptionDelivery` that the engine drives (in the background, or step
by step on a virtual clock). Several services may share one bus: each receives,
by event name, the events the others publish.

Like the runtime SPI, every method must be implementable on the embedded SQLite
file and on AWS (EventBridge rules delivering to SQS); docs/architecture.md maps
them.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import attrs

from ._history import Json

if TYPE_CHECKING:
    from ._runtime import Client
    from ._service import Service

__all__ = ["DeadLetter", "EventBus", "EventEnvelope", "SubscriptionDelivery"]


@attrs.frozen(kw_only=True)
class EventEnvelope:
    """One published event as the bus carries it.

    Attributes:
        id: Unique; a redelivered or republished envelope keeps its id, and a
            subscription sees each id at most once per successful delivery.
        source: The name of the service that published it.
        name: The event's name (what subscriptions match on).
        time: When it was published (timezone-aware UTC).
        payload: The JSON payload.
    """

    id: str
    source: str
    name: str
    time: datetime
    payload: Json


@attrs.frozen(kw_only=True)
class DeadLetter:
    """An event a subscription could not handle after its last attempt.

    Attributes:
        id: The dead letter's id (what redrive takes).
        subscription: The subscription's name.
        event: The event it failed on.
        error_type: The class name of the last error (``"DecodeError"`` when the
            payload did not fit the subscription's type).
        message: The last error's message.
        attempts: How many attempts were made.
        failed_at: When the last attempt failed.
    """

    id: str
    subscription: str
    event: EventEnvelope
    error_type: str
    message: str
    attempts: int
    failed_at: datetime


class SubscriptionDelivery(Protocol):
    """Delivery of bus events to one service's subscriptions, driven by the engine."""

    async def deliver_due(self) -> int:
        """Claim deliveries that are due, run their handlers, and settle them.

        A handler that fails is retried by its subscription's ``RetryPolicy``
        (back-off by the attached clock); after the last attempt the event goes to
        the dead-letter store.

        Returns:
            How many deliveries were settled (succeeded, rescheduled or dead-lettered).
        """

    async def next_due(self) -> datetime | None:
        """Return when the earliest waiting delivery is due, or None if none waits."""

    async def pending(self) -> int:
        """Return how many deliveries are waiting or running for this service."""

    async def dead_letters(
        self, *, limit: int = 100, after: str | None = None
    ) -> builtins.list[DeadLetter]:
        """Return this service's dead letters, oldest first, after the ``after`` id."""

    async def redrive(self, ids: Sequence[str] | None = None) -> int:
        """Deliver dead letters again (all of them when ``ids`` is None); return how many."""


class EventBus(Protocol):
    """A durable event bus, shared by the services attached to it."""

    async def open(self) -> object:
        """Connect and create what is missing; returns the bus."""

    async def publish(self, events: Sequence[EventEnvelope]) -> None:
        """Accept events durably, fanning each out to the subscriptions matching it.

        Publishing an envelope whose id the bus has already accepted does nothing,
        so a publisher may retry after a crash.
        """

    async def attach(
        self, service: Service, client: Client, now: Callable[[], datetime], *, owner: str
    ) -> SubscriptionDelivery:
        """Register ``service``'s subscriptions and return their delivery.

        Args:
            service: The service whose subscriptions receive events.
            client: Set as the ambient client while handlers run, so a handler can
                start workflows, send signals and publish.
            now: The clock used for retry back-off (a virtual one in tests).
            owner: Identifies this process in delivery leases.
        """

    async def close(self) -> None:
        """Release connections and files."""
