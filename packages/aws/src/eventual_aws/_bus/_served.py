"""The client an AWS ``HttpApp`` serves: a ``BackendClient`` that also reaches dead letters.

The system API lists and redrives dead letters when the engine it serves
delivers subscriptions (``RunsSubscriptions``). On AWS no process of the
service polls the subscription queues (their event source mappings do), but
the ``eventbridge`` bus's dead letters live in the table and the dead-letter
queues, which the API function may read and send back to the subscriptions'
queues. So the API function's client (and the simulator's) answers for them
with the bus's ``SqsDelivery``, built on first use, and has no loop to wake
after a redrive: the queues' pollers pick the messages up.
"""

from __future__ import annotations

from eventual import Service
from eventual.spi import Backend
from eventual_engine import BackendClient, Clock

from ._bus import EventBridgeBus, SqsDelivery
from ._consume import Consumer
from ._store import BusStore

__all__ = ["DeadLetterClient"]


class DeadLetterClient(BackendClient):
    """A ``BackendClient`` on the ``eventbridge`` bus whose ``subscriptions`` are its dead letters.

    Args:
        service: The service.
        backend: The ``aws`` backend.
        clock: The clock.
        bus: The service's ``eventbridge`` bus (open before the first request).
    """

    def __init__(
        self, service: Service, backend: Backend, *, clock: Clock, bus: EventBridgeBus
    ) -> None:
        super().__init__(service, backend, clock=clock, bus=bus)
        self._eventbridge = bus
        self._delivery: SqsDelivery | None = None

    @property
    def subscriptions(self) -> SqsDelivery:
        """The delivery of the service's subscriptions: what lists and redrives dead letters."""
        if self._delivery is None:
            bus = self._eventbridge
            store = BusStore(
                bus.clients,
                bus.config.table,
                self.service.name,
                dedup_window=bus.config.dedup_window,
            )
            consumer = Consumer(self.service, self, store, self.clock.now)
            self._delivery = SqsDelivery(bus.config, bus.clients, self.service, consumer, store)
        return self._delivery

    def notify(self, *loops: str) -> None:
        """Do nothing: no loop runs here, the subscriptions' queues are polled by their mappings."""
