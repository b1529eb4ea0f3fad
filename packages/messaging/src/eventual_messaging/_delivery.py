"""Running subscription handlers: claim, decode, call, settle.

One :class:`Delivery` serves one service attached to a bus. Each round claims the
deliveries that are due (with a lease, so two processes of the service never run
the same one at once), runs their handlers concurrently with the service's client
as the ambient client, and settles each outcome as soon as its handler returns, so
a slow handler holds up no other delivery of its round. A round cancelled while
handlers run (the engine stopping) gives the unfinished deliveries back at once,
without counting the interrupted attempt, instead of leaving them leased.

Failures never stop the subscriber: a payload that does not decode to the
subscription's type is dead-lettered at once (another attempt would fail the same
way); a handler that raises, or runs past its timeout (the subscription's ``timeout=``,
else ``BusOptions.handler_timeout``) and is cancelled, is retried by the
subscription's ``RetryPolicy``, with
the back-off measured on the attached clock and stored as ``not_before`` (so it
survives a restart), and dead-lettered after its last attempt. Without a policy a
delivery is attempted once, as tasks are. Whatever a handler raises counts as its
failure, a ``BaseException`` or a ``CancelledError`` of its own included; only
``KeyboardInterrupt`` and ``SystemExit`` stop the process, as a crash would (the
delivery runs again once its lease lapses).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import attrs

from eventual import Service, Subscription, Timeout, ValidationError
from eventual.history import error_bases
from eventual.spi import Client, DeadLetter, use_client

from ._store import BusStore, Claim, Outcome, Route

__all__ = ["BusOptions", "Delivery", "routes_of"]

log = logging.getLogger("eventual.messaging")


@attrs.frozen(kw_only=True)
class BusOptions:
    """Tuning of a local bus.

    Attributes:
        lease: How long a claimed delivery is held without renewal; after a crash
            the delivery runs again elsewhere once it lapses. Leases are renewed
            while handlers run.
        batch: Most deliveries claimed (and run concurrently) per round.
        dedup_window: How long after its ``time`` an event id is remembered (and
            longer while a delivery still needs it): republishing it within the
            window is ignored, later it is a new event. Old ids are forgotten so
            the bus does not grow forever.
        handler_timeout: How long one delivery's handler may run when its
            subscription sets no ``timeout=``; past it the handler is cancelled
            and the attempt fails with ``Timeout``, retried by the subscription's
            policy like any failure.
    """

    lease: timedelta = timedelta(seconds=30)
    batch: int = 64
    dedup_window: timedelta = timedelta(days=7)
    handler_timeout: timedelta = timedelta(minutes=5)

    def __attrs_post_init__(self) -> None:
        if self.dedup_window <= timedelta(0):
            raise ValueError(f"BusOptions.dedup_window must be positive, got {self.dedup_window!r}")
        if self.lease <= timedelta(0):
            raise ValueError(f"BusOptions.lease must be positive, got {self.lease!r}")
        if self.batch < 1:
            raise ValueError(f"BusOptions.batch must be at least 1, got {self.batch!r}")
        if self.handler_timeout <= timedelta(0):
            raise ValueError(
                f"BusOptions.handler_timeout must be positive, got {self.handler_timeout!r}"
            )


_PRUNE_AT_LEAST_EVERY = timedelta(hours=1)


def routes_of(service: Service) -> list[Route]:
    """Return the routes of a service's subscriptions (name and patterns of each)."""
    return [
        Route(service=service.name, subscription=s.name, patterns=tuple(s.patterns()))
        for s in service.subscriptions.values()
    ]


class Delivery:
    """Delivers bus events to one service's subscriptions (a ``SubscriptionDelivery``)."""

    def __init__(
        self,
        store: BusStore,
        service: Service,
        client: Client,
        now: Callable[[], datetime],
        *,
        owner: str,
        options: BusOptions,
    ) -> None:
        self._store = store
        self._service = service
        self._client = client
        self._now = now
        self._owner = owner
        self._options = options
        self._pruned_at: datetime | None = None

    async def deliver_due(self) -> int:
        """Claim due deliveries, run their handlers and settle them; return how many."""
        await self._prune()
        lease = self._options.lease.total_seconds()
        claims = await self._store.claim(
            self._service.name, self._now(), self._owner, self._options.batch, lease
        )
        if not claims:
            return 0
        held = {claim.lease: claim for claim in claims}  # still running
        renewal = asyncio.create_task(self._keep_leases(held, lease))
        try:
            await asyncio.gather(*(self._deliver(claim, held) for claim in claims))
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal
        return len(claims)

    async def _deliver(self, claim: Claim, held: dict[str, Claim]) -> None:
        try:
            outcome = await self._attempt(claim)
        except asyncio.CancelledError:
            # The round is stopping: hand the delivery back rather than leave it
            # leased (and its attempt counted) until the lease lapses.
            held.pop(claim.lease, None)
            try:
                await self._store.release([claim])
            except Exception:
                log.exception("giving back an interrupted subscription delivery failed")
            raise
        held.pop(claim.lease, None)
        try:
            await self._store.settle([outcome])
        except Exception:  # the lease lapses and the delivery runs again
            log.exception("settling a subscription delivery failed")

    async def _prune(self) -> None:
        # At most every tenth of the window (and at least hourly), forget event ids
        # older than the window; cheap, so it rides on delivery rounds.
        now = self._now()
        every = min(self._options.dedup_window / 10, _PRUNE_AT_LEAST_EVERY)
        if self._pruned_at is not None and now - self._pruned_at < every:
            return
        self._pruned_at = now
        try:
            await self._store.prune(now - self._options.dedup_window)
        except Exception:  # pruning again later is as good
            log.exception("forgetting old event ids failed")

    async def next_due(self) -> datetime | None:
        """Return when the earliest waiting delivery is due, or None."""
        return await self._store.next_due(self._service.name)

    async def pending(self) -> int:
        """Return how many deliveries wait or run for this service."""
        return await self._store.pending(self._service.name)

    async def dead_letters(
        self, *, limit: int = 100, after: str | None = None
    ) -> builtins.list[DeadLetter]:
        """Return this service's dead letters, oldest first, after the ``after`` id."""
        return await self._store.dead_letters(self._service.name, limit, after)

    async def redrive(self, ids: Sequence[str] | None = None) -> int:
        """Deliver dead letters again with fresh attempts (all when ``ids`` is None)."""
        return await self._store.redrive(self._service.name, ids, self._now())

    async def _keep_leases(self, held: dict[str, Claim], lease: float) -> None:
        while True:
            await asyncio.sleep(lease / 3)
            if not held:
                continue
            try:
                await self._store.renew(list(held.values()), lease)
            except Exception:  # the next renewal may work; losing a lease is survivable
                log.exception("renewing subscription delivery leases failed")

    async def _attempt(self, claim: Claim) -> Outcome:
        subscription = self._service.subscriptions.get(claim.subscription)
        event = subscription.event_named(claim.envelope.name) if subscription else None
        if subscription is None or event is None:
            return self._dead(
                claim,
                "UnknownSubscription",
                f"service {self._service.name!r} has no subscription {claim.subscription!r} "
                f"to event {claim.envelope.name!r} any more",
            )
        try:
            payload = event.decode_payload(claim.envelope.payload)
        except (ValidationError, TypeError) as error:
            return self._dead(claim, "DecodeError", str(error))
        limit = subscription.timeout or self._options.handler_timeout
        deadline = asyncio.timeout(limit.total_seconds())
        try:
            with use_client(self._client):
                async with deadline:
                    await subscription.fn(payload)
        except (KeyboardInterrupt, SystemExit):
            raise
        except TimeoutError as error:
            if not deadline.expired():
                return self._failed(claim, subscription, error)  # the handler's own
            late = Timeout(
                f"subscription {subscription.name!r} took longer than its timeout of "
                f"{limit.total_seconds():g} s on event {claim.envelope.id}"
            )
            return self._failed(claim, subscription, late)
        except asyncio.CancelledError as error:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the round is being cancelled, not the handler failing
            return self._failed(claim, subscription, error)
        except BaseException as error:
            return self._failed(claim, subscription, error)
        return Outcome(claim=claim, kind="done", at=self._now())

    def _failed(
        self, claim: Claim, subscription: Subscription[object], error: BaseException
    ) -> Outcome:
        error_type = type(error).__name__
        policy = subscription.retry
        bases = error_bases(type(error))
        if policy is not None and policy.should_retry(claim.attempt, error_type, bases):
            now = self._now()
            return Outcome(
                claim=claim,
                kind="retry",
                at=now,
                not_before=now + policy.delay_before(claim.attempt + 1),
                error_type=error_type,
                message=str(error),
            )
        return self._dead(claim, error_type, str(error))

    def _dead(self, claim: Claim, error_type: str, message: str) -> Outcome:
        log.warning(
            "subscription %s gave up on event %s (%s) after attempt %d: %s: %s",
            claim.subscription,
            claim.envelope.name,
            claim.envelope.id,
            claim.attempt,
            error_type,
            message,
        )
        return Outcome(
            claim=claim, kind="dead", at=self._now(), error_type=error_type, message=message
        )
