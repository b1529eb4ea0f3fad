"""The in-memory bus: dictionaries in this process, lost when it ends (tests)."""

from __future__ import annotations

import builtins
import itertools
import os
import time
from collections.abc import Sequence
from datetime import datetime

import attrs

from eventual.spi import DeadLetter, EventEnvelope

from ._bus import LocalBus
from ._delivery import BusOptions
from ._store import (
    Claim,
    Outcome,
    Route,
    ServiceRoutes,
    dead_letter_id,
    split_dead_letter_id,
)

__all__ = ["MemoryBus", "MemoryStore"]


@attrs.define(kw_only=True)
class _Delivery:
    envelope: EventEnvelope
    seq: int
    attempts: int = 0
    not_before: datetime
    lease: str | None = None
    until: float = 0.0
    dead: DeadLetter | None = None
    dead_seq: int = 0


class MemoryStore:
    """A ``BusStore`` in dictionaries; the same contract as the SQLite store."""

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}  # event id -> publish time
        self._routes: dict[str, list[Route]] = {}
        # (service, subscription, event id) -> delivery
        self._deliveries: dict[tuple[str, str, str], _Delivery] = {}
        self._counter = itertools.count(1)

    async def open(self) -> None:
        """Nothing to create."""

    async def close(self) -> None:
        """Nothing to release."""

    async def register(self, service: str, routes: Sequence[Route]) -> None:
        """Replace the service's routes."""
        self._routes[service] = list(routes)

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> int:
        """Store new envelopes and fan them out; return how many were new."""
        new = 0
        for envelope in envelopes:
            if envelope.id in self._seen:
                continue
            self._seen[envelope.id] = envelope.time
            new += 1
            seq = next(self._counter)
            for routes in self._routes.values():
                for route in routes:
                    if route.accepts(envelope):
                        key = (route.service, route.subscription, envelope.id)
                        self._deliveries[key] = _Delivery(
                            envelope=envelope, seq=seq, not_before=envelope.time
                        )
        return new

    def _waiting(self, service: str) -> list[tuple[tuple[str, str, str], _Delivery]]:
        return [
            (key, d) for key, d in self._deliveries.items() if key[0] == service and d.dead is None
        ]

    async def claim(
        self, service: str, now: datetime, owner: str, limit: int, lease_seconds: float
    ) -> builtins.list[Claim]:
        """Claim due, unleased deliveries of ``service``, earliest first."""
        wall = time.time()
        due = [
            (key, d) for key, d in self._waiting(service) if d.not_before <= now and d.until <= wall
        ]
        due.sort(key=lambda item: (item[1].not_before, item[1].seq))
        claims = []
        for (_, subscription, _), delivery in due[:limit]:
            delivery.attempts += 1
            delivery.lease = f"{owner}:{os.urandom(6).hex()}"
            delivery.until = wall + lease_seconds
            claims.append(
                Claim(
                    service=service,
                    subscription=subscription,
                    envelope=delivery.envelope,
                    attempt=delivery.attempts,
                    lease=delivery.lease,
                )
            )
        return claims

    def _held(self, claim: Claim) -> _Delivery | None:
        key = (claim.service, claim.subscription, claim.envelope.id)
        delivery = self._deliveries.get(key)
        if delivery is None or delivery.lease != claim.lease or delivery.dead is not None:
            return None
        return delivery

    async def renew(self, claims: Sequence[Claim], lease_seconds: float) -> None:
        """Extend the leases still held."""
        until = time.time() + lease_seconds
        for claim in claims:
            delivery = self._held(claim)
            if delivery is not None:
                delivery.until = until

    async def settle(self, outcomes: Sequence[Outcome]) -> int:
        """Apply outcomes whose claim is still held."""
        applied = 0
        for outcome in outcomes:
            claim = outcome.claim
            delivery = self._held(claim)
            if delivery is None:
                continue
            applied += 1
            delivery.lease, delivery.until = None, 0.0
            if outcome.kind == "done":
                del self._deliveries[(claim.service, claim.subscription, claim.envelope.id)]
            elif outcome.kind == "retry":
                assert outcome.not_before is not None
                delivery.not_before = outcome.not_before
            else:
                delivery.dead_seq = next(self._counter)
                delivery.dead = DeadLetter(
                    id=dead_letter_id(claim.subscription, claim.envelope.id),
                    subscription=claim.subscription,
                    event=claim.envelope,
                    error_type=outcome.error_type,
                    message=outcome.message,
                    attempts=delivery.attempts,
                    failed_at=outcome.at,
                )
        return applied

    async def release(self, claims: Sequence[Claim]) -> None:
        """Give back interrupted claims still held, uncounted."""
        for claim in claims:
            delivery = self._held(claim)
            if delivery is not None:
                delivery.lease, delivery.until = None, 0.0
                delivery.attempts -= 1

    async def next_due(self, service: str) -> datetime | None:
        """Return the earliest due time of unleased waiting deliveries."""
        wall = time.time()
        due = [d.not_before for _, d in self._waiting(service) if d.until <= wall]
        return min(due, default=None)

    async def pending(self, service: str) -> int:
        """Count waiting and running deliveries."""
        return len(self._waiting(service))

    async def dead_letters(
        self, service: str, limit: int, after: str | None
    ) -> builtins.list[DeadLetter]:
        """Return dead letters in the order they died, after ``after``."""
        dead = sorted(
            (d for key, d in self._deliveries.items() if key[0] == service and d.dead),
            key=lambda d: d.dead_seq,
        )
        if after is not None:
            position = next((d.dead_seq for d in dead if d.dead and d.dead.id == after), None)
            dead = [d for d in dead if position is not None and d.dead_seq > position]
        return [d.dead for d in dead[: max(limit, 0)] if d.dead is not None]

    async def services(self) -> builtins.list[ServiceRoutes]:
        """Return every service with routes or deliveries."""
        names = {*self._routes, *(key[0] for key in self._deliveries)}
        return [self._summary(name) for name in sorted(names)]

    def _summary(self, service: str) -> ServiceRoutes:
        mine = [d for key, d in self._deliveries.items() if key[0] == service]
        return ServiceRoutes(
            service=service,
            subscriptions=tuple(sorted({r.subscription for r in self._routes.get(service, [])})),
            waiting=sum(1 for d in mine if d.dead is None),
            dead=sum(1 for d in mine if d.dead is not None),
        )

    async def forget(self, service: str) -> ServiceRoutes:
        """Remove the service's routes and deliveries."""
        removed = self._summary(service)
        self._routes.pop(service, None)
        for key in [key for key in self._deliveries if key[0] == service]:
            del self._deliveries[key]
        return removed

    async def prune(self, before: datetime) -> int:
        """Forget old events whose deliveries are all settled."""
        needed = {key[2] for key in self._deliveries}
        old = [id_ for id_, at in self._seen.items() if at < before and id_ not in needed]
        for id_ in old:
            del self._seen[id_]
        return len(old)

    async def redrive(self, service: str, ids: Sequence[str] | None, now: datetime) -> int:
        """Make dead letters waiting again with fresh attempts."""
        if ids is None:
            keys = [k for k, d in self._deliveries.items() if k[0] == service and d.dead]
        else:
            keys = []
            for id_ in ids:
                parts = split_dead_letter_id(id_)
                if parts is not None:
                    keys.append((service, *parts))
        count = 0
        for key in keys:
            delivery = self._deliveries.get(key)
            if delivery is None or delivery.dead is None:
                continue
            delivery.dead, delivery.dead_seq = None, 0
            delivery.attempts, delivery.not_before = 0, now
            count += 1
        return count


class MemoryBus(LocalBus):
    """The in-memory event bus, for tests and ``LocalRuntime(db=None)``.

    Args:
        options: Leases and batch size.
    """

    def __init__(self, options: BusOptions | None = None) -> None:
        super().__init__(MemoryStore(), options)

    def __repr__(self) -> str:
        return "MemoryBus()"
