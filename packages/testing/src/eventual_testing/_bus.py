"""A bus that remembers what was published through it, for ``env.published``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from eventual import Service
from eventual.spi import Client, EventBus, EventEnvelope, SubscriptionDelivery

__all__ = ["RecordingBus"]


class RecordingBus:
    """Wraps the environment's event bus and keeps every envelope it accepted.

    Both paths into a bus go through it: events published from outside workflows
    (``ev.publish`` in a test, a task or a subscription) and the engine's relay of
    what workflows published. An envelope published again under the same id (a
    relay retried after a crash) is recorded once, as the bus delivers it once.
    """

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._seen: set[str] = set()
        self.envelopes: list[EventEnvelope] = []

    async def open(self) -> object:
        """Open the wrapped bus."""
        await self._bus.open()
        return self

    async def publish(self, events: Sequence[EventEnvelope]) -> None:
        """Publish through the wrapped bus, then record what it accepted."""
        await self._bus.publish(events)
        for envelope in events:
            if envelope.id not in self._seen:
                self._seen.add(envelope.id)
                self.envelopes.append(envelope)

    async def attach(
        self, service: Service, client: Client, now: Callable[[], datetime], *, owner: str
    ) -> SubscriptionDelivery:
        """Attach ``service``'s subscriptions to the wrapped bus."""
        return await self._bus.attach(service, client, now, owner=owner)

    async def close(self) -> None:
        """Close the wrapped bus."""
        await self._bus.close()
