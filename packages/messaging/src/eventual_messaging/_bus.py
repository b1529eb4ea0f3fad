"""``LocalBus``: the ``EventBus`` of the local runtimes, over a :class:`BusStore`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType

from eventual import Service
from eventual.spi import Client, EventEnvelope

from ._delivery import BusOptions, Delivery, routes_of
from ._store import BusStore, ServiceRoutes

__all__ = ["LocalBus"]


class LocalBus:
    """An event bus shared by the services attached to it (an ``EventBus``).

    Publishing stores each new envelope and, in the same atomic write, creates a
    delivery for every subscription (of any attached service) whose pattern
    matches it. Each attached service gets a :class:`Delivery` that runs its
    handlers.

    Args:
        store: Where events, subscriptions and deliveries are kept.
        options: Leases and batch size.
    """

    def __init__(self, store: BusStore, options: BusOptions | None = None) -> None:
        self.store = store
        self.options = options or BusOptions()

    async def open(self) -> LocalBus:
        """Create what is missing; returns the bus."""
        await self.store.open()
        return self

    async def close(self) -> None:
        """Release connections and files (idempotent)."""
        await self.store.close()

    async def __aenter__(self) -> LocalBus:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def publish(self, events: Sequence[EventEnvelope]) -> None:
        """Accept events durably and fan each out; an id seen before is ignored."""
        if events:
            await self.store.publish(events)

    async def services(self) -> list[ServiceRoutes]:
        """Return every service this bus holds routes or deliveries for."""
        return await self.store.services()

    async def forget(self, service: str) -> ServiceRoutes:
        """Remove a service gone for good: its routes and all its deliveries.

        Events published afterwards no longer wait for it; if it attaches again,
        it registers its subscriptions anew and receives events from then on.
        """
        return await self.store.forget(service)

    async def attach(
        self, service: Service, client: Client, now: Callable[[], datetime], *, owner: str
    ) -> Delivery:
        """Register ``service``'s subscriptions and return their delivery.

        Subscriptions are registered by service and subscription name, with their
        patterns, so events published from then on (by any process using this
        bus) reach them.
        """
        await self.store.register(service.name, routes_of(service))
        return Delivery(self.store, service, client, now, owner=owner, options=self.options)
