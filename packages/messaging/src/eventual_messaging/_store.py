"""What a bus keeps, and the storage interface the memory and SQLite buses share.

A bus is two things: storage (events by id, subscriptions, deliveries, dead
letters) and the code that runs handlers. The storage differs between buses; the
rest does not, so :class:`~eventual_messaging._bus.LocalBus` and
:class:`~eventual_messaging._delivery.Delivery` run over any :class:`BusStore`,
and the contract tests run every store through the same behaviour.

A *delivery* is one event for one subscription of one service. It is created when
the event is published (fan-out), claimed with a lease by a process of that
service, and settled: deleted after success, rescheduled with ``not_before``
after a retryable failure, or marked dead (a dead letter) after the last attempt.
A redrive makes a dead letter a waiting delivery again, with fresh attempts.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

import attrs

from eventual.spi import DeadLetter, EventEnvelope

from ._patterns import matches_envelope

__all__ = [
    "BusStore",
    "Claim",
    "Outcome",
    "Route",
    "ServiceRoutes",
    "dead_letter_id",
    "split_dead_letter_id",
]


@attrs.frozen(kw_only=True)
class Route:
    """One subscription of one service, as the bus routes to it.

    Attributes:
        service: The subscribing service's name.
        subscription: The subscription's name (unique in its service).
        patterns: EventBridge patterns; an event matching any of them is delivered.
    """

    service: str
    subscription: str
    patterns: tuple[Mapping[str, Any], ...]

    def event_names(self) -> builtins.list[str]:
        """Return the event names the patterns select (their ``detail-type``)."""
        names: dict[str, None] = {}
        for pattern in self.patterns:
            for name in pattern.get("detail-type", ()):
                names[name] = None
        return list(names)

    def accepts(self, envelope: EventEnvelope) -> bool:
        """Return whether any of the patterns matches the envelope."""
        return any(matches_envelope(pattern, envelope) for pattern in self.patterns)


@attrs.frozen(kw_only=True)
class ServiceRoutes:
    """What a bus holds for one service.

    Attributes:
        service: The service's name.
        subscriptions: Its registered subscriptions' names, sorted.
        waiting: Deliveries waiting or running for it.
        dead: Its dead letters.
    """

    service: str
    subscriptions: tuple[str, ...]
    waiting: int
    dead: int


@attrs.frozen(kw_only=True)
class Claim:
    """A delivery claimed by one process until its lease lapses.

    Attributes:
        service: The subscribing service.
        subscription: The subscription to run.
        envelope: The event.
        attempt: This attempt's number, 1 for the first.
        lease: The claim's token; settling needs it, so a delivery that was
            claimed again after its lease lapsed is settled by its new holder only.
    """

    service: str
    subscription: str
    envelope: EventEnvelope
    attempt: int
    lease: str


@attrs.frozen(kw_only=True)
class Outcome:
    """How an attempt ended.

    Attributes:
        claim: The attempt.
        kind: ``"done"`` (delete), ``"retry"`` (wait until ``not_before``) or
            ``"dead"`` (keep as a dead letter).
        at: When the attempt ended (the bus clock).
        not_before: For ``"retry"``, when the next attempt is due.
        error_type: The failure's class name (``"DecodeError"`` for a payload
            that does not fit the subscription's type).
        message: The failure's message.
    """

    claim: Claim
    kind: Literal["done", "retry", "dead"]
    at: datetime
    not_before: datetime | None = None
    error_type: str = ""
    message: str = ""


def dead_letter_id(subscription: str, event_id: str) -> str:
    """Return the id of a dead letter (unique within its service)."""
    return f"{subscription}|{event_id}"


def split_dead_letter_id(id_: str) -> tuple[str, str] | None:
    """Return ``(subscription, event id)`` of a dead letter id, or None if malformed."""
    subscription, sep, event_id = id_.partition("|")
    return (subscription, event_id) if sep and subscription and event_id else None


class BusStore(Protocol):
    """Storage of a bus: every method is atomic, and safe to call from several processes."""

    async def open(self) -> None:
        """Create what is missing (files, tables)."""

    async def close(self) -> None:
        """Release connections and files (idempotent)."""

    async def register(self, service: str, routes: Sequence[Route]) -> None:
        """Make ``routes`` the service's subscriptions, replacing the ones it had.

        Deliveries already created for a subscription that is gone stay, and are
        dead-lettered when claimed, so nothing is dropped silently.
        """

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> int:
        """Store new envelopes and create a delivery per matching route; return how many were new.

        An envelope whose id was published before is ignored.
        """

    async def claim(
        self, service: str, now: datetime, owner: str, limit: int, lease_seconds: float
    ) -> builtins.list[Claim]:
        """Claim up to ``limit`` deliveries of ``service`` due at ``now`` and not leased."""

    async def renew(self, claims: Sequence[Claim], lease_seconds: float) -> None:
        """Extend the leases of claims still held."""

    async def settle(self, outcomes: Sequence[Outcome]) -> int:
        """Apply outcomes whose claim is still held; return how many were applied."""

    async def release(self, claims: Sequence[Claim]) -> None:
        """Give back claims still held whose attempts were interrupted, not failed.

        Each delivery is due again at once, for any process, and its attempt is
        not counted.
        """

    async def next_due(self, service: str) -> datetime | None:
        """Return the earliest ``not_before`` of the service's unleased waiting deliveries."""

    async def pending(self, service: str) -> int:
        """Return how many deliveries of the service wait or run (dead letters excluded)."""

    async def dead_letters(
        self, service: str, limit: int, after: str | None
    ) -> builtins.list[DeadLetter]:
        """Return the service's dead letters in the order they died, after ``after``."""

    async def redrive(self, service: str, ids: Sequence[str] | None, now: datetime) -> int:
        """Make dead letters waiting deliveries again, due at ``now``; return how many."""

    async def services(self) -> builtins.list[ServiceRoutes]:
        """Return every service with routes or deliveries on this bus, by name."""

    async def forget(self, service: str) -> ServiceRoutes:
        """Remove a service's routes and all its deliveries, dead letters included.

        For a service gone for good: events published afterwards no longer wait
        for it. A service that attaches again registers its routes anew.

        Returns:
            What was removed.
        """

    async def prune(self, before: datetime) -> int:
        """Forget events published before ``before`` that no delivery needs any more.

        Their ids stop being deduplicated: publishing one again would deliver it
        again. Events with waiting, running or dead deliveries are kept.

        Returns:
            How many events were forgotten.
        """
