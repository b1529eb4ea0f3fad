"""One delivery of one SQS message to one subscription: decode, deduplicate, run, settle.

The same code serves the subscription's Lambda function (an SQS batch, answered
with partial batch failures) and a long-running process polling the queues (the
simulator, ``eventual local --aws``). What it decides:

- ``done``: the handler returned (or already had, for this event id); the message
  is deleted.
- ``retry``: the handler raised and the subscription's ``RetryPolicy`` allows
  another attempt; the message becomes visible again after the policy's back-off
  (its visibility timeout is set to it, at most SQS's 12 hours) and SQS delivers
  it again. The attempt number is SQS's ``ApproximateReceiveCount``, so a crash of
  the function counts as an attempt too.
- ``dead``: the last attempt failed, the payload does not decode to the
  subscription's type, or the message is not an eventual event: a dead letter is
  stored (listed and redriven by ``eventual dead-letters``) and the message is
  deleted. The queue's own dead-letter queue (its redrive policy) only catches
  messages whose function kept crashing without answering; listing dead letters
  moves those into the store too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Literal

import attrs

from eventual import Service, ValidationError
from eventual.history import error_bases
from eventual.spi import Client, EventEnvelope, use_client

from ._envelope import MalformedEvent, envelope_from_body
from ._store import BusStore

__all__ = ["MAX_VISIBILITY_SECONDS", "Consumer", "Received", "Settled"]

log = logging.getLogger("eventual.aws.bus")

MAX_VISIBILITY_SECONDS = 12 * 60 * 60
"""SQS's longest visibility timeout: the longest back-off between two attempts."""


@attrs.frozen(kw_only=True)
class Received:
    """One SQS message for a subscription.

    Attributes:
        message_id: SQS's message id (what a partial batch failure names).
        receipt: The receipt handle (to delete it or change its visibility).
        body: The message body (an EventBridge event).
        attempt: How many times SQS delivered it, this time included.
    """

    message_id: str
    receipt: str
    body: str
    attempt: int


@attrs.frozen(kw_only=True)
class Settled:
    """What became of one delivery.

    Attributes:
        kind: ``done``, ``retry`` or ``dead``.
        delay: For ``retry``, seconds until the next attempt.
    """

    kind: Literal["done", "retry", "dead"]
    delay: int = 0


class Consumer:
    """Runs one service's subscription handlers on messages from their queues."""

    def __init__(
        self,
        service: Service,
        client: Client | None,
        store: BusStore,
        now: Callable[[], datetime],
        *,
        reach: Callable[[str], None] | None = None,
    ) -> None:
        self._service = service
        self._client = client
        self._store = store
        self._now = now
        # Called with "handled" and "dead_lettered" as a delivery passes those
        # points (the Lambda runtime's crash points; nothing in production).
        self._reach = reach or (lambda point: None)

    def now(self) -> datetime:
        """Return the time on the consumer's clock."""
        return self._now()

    async def handle(self, subscription_name: str, received: Received) -> Settled:
        """Deliver one message to ``subscription_name`` and say how to settle it."""
        try:
            envelope = envelope_from_body(received.body)
        except MalformedEvent as error:
            return await self._dead_body(subscription_name, received, str(error))
        subscription = self._service.subscriptions.get(subscription_name)
        event = subscription.event_named(envelope.name) if subscription is not None else None
        if subscription is None or event is None:
            return await self._dead(
                subscription_name,
                envelope,
                received,
                "UnknownSubscription",
                f"service {self._service.name!r} has no subscription {subscription_name!r} to "
                f"event {envelope.name!r}",
            )
        if await self._store.delivered(subscription_name, envelope.id):
            return Settled(kind="done")  # a duplicate of a delivery that succeeded
        try:
            payload = event.decode_payload(envelope.payload)
        except (ValidationError, TypeError) as error:
            return await self._dead(
                subscription_name, envelope, received, "DecodeError", str(error)
            )
        try:
            with use_client(self._client):
                await subscription.fn(payload)
        except (KeyboardInterrupt, SystemExit):
            raise
        except asyncio.CancelledError as error:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the process is stopping, not the handler failing
            return await self._failed(subscription_name, envelope, received, error)
        except BaseException as error:
            return await self._failed(subscription_name, envelope, received, error)
        self._reach("handled")
        await self._store.mark_delivered(subscription_name, envelope.id, self._now())
        return Settled(kind="done")

    async def _failed(
        self,
        subscription_name: str,
        envelope: EventEnvelope,
        received: Received,
        error: BaseException,
    ) -> Settled:
        subscription = self._service.subscriptions[subscription_name]
        error_type = type(error).__name__
        policy = subscription.retry
        if policy is not None and policy.should_retry(
            received.attempt, error_type, error_bases(type(error))
        ):
            delay = policy.delay_before(received.attempt + 1).total_seconds()
            log.info(
                "subscription %s failed on event %s (attempt %d), retrying in %.0f s: %s: %s",
                subscription_name,
                envelope.id,
                received.attempt,
                delay,
                error_type,
                error,
            )
            return Settled(kind="retry", delay=min(MAX_VISIBILITY_SECONDS, max(0, round(delay))))
        return await self._dead(subscription_name, envelope, received, error_type, str(error))

    async def _dead(
        self,
        subscription_name: str,
        envelope: EventEnvelope,
        received: Received,
        error_type: str,
        message: str,
    ) -> Settled:
        log.warning(
            "subscription %s gave up on event %s (%s) after attempt %d: %s: %s",
            subscription_name,
            envelope.name,
            envelope.id,
            received.attempt,
            error_type,
            message,
        )
        await self._store.add_dead_letter(
            subscription=subscription_name,
            event=envelope,
            error_type=error_type,
            message=message,
            attempts=received.attempt,
            failed_at=self._now(),
            body=received.body,
        )
        self._reach("dead_lettered")
        return Settled(kind="dead")

    async def _dead_body(self, subscription_name: str, received: Received, reason: str) -> Settled:
        # Not an eventual event: keep the body as it came, under a placeholder
        # envelope, so nothing is lost and the dead letter says what was wrong.
        placeholder = EventEnvelope(
            id=f"sqs:{received.message_id}",
            source="unknown",
            name="(malformed)",
            time=self._now(),
            payload=received.body,
        )
        return await self._dead(subscription_name, placeholder, received, "MalformedEvent", reason)
