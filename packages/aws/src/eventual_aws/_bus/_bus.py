"""The ``eventbridge`` event bus: publish with ``PutEvents``, deliver from SQS queues.

On AWS each subscription is an EventBridge rule (its pattern is the
subscription's filter) that feeds the subscription's own SQS queue, and the
subscription's Lambda function consumes the queue (``eventual_aws.handlers.subscription``).
The plan creates the rules and queues, so :meth:`EventBridgeBus.attach` creates
nothing: it returns a delivery that polls those queues, which is what a
long-running process (the simulator, ``eventual local --aws``) uses instead of
the event source mappings.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import boto3

from eventual import EventualError, Service
from eventual.plugins import EventualConfig
from eventual.spi import Client, DeadLetter, EventEnvelope

from .._backend._clients import Clients
from .._plan._names import queue_name
from ._consume import Consumer, Received, Settled
from ._envelope import MalformedEvent, entry_of, envelope_from_body
from ._publish import put_events
from ._store import BusStore

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

__all__ = ["EventBridgeBus", "EventBridgeBusConfig", "SqsDelivery"]

log = logging.getLogger("eventual.aws.bus")

_ENVIRONMENT = {
    "event_bus_name": "EVENTUAL_AWS_EVENT_BUS_NAME",
    "table": "EVENTUAL_AWS_TABLE",
    "queue_prefix": "EVENTUAL_AWS_QUEUE_PREFIX",
    "workflow_queue_url": "EVENTUAL_AWS_WORKFLOW_QUEUE_URL",
}
_REQUIRED = ("event_bus_name", "table", "queue_prefix", "workflow_queue_url")


@attrs.frozen(kw_only=True)
class EventBridgeBusConfig:
    """Where the ``eventbridge`` bus publishes and what it reads.

    Attributes:
        bus_name: The EventBridge bus events are put on.
        table: The service's table (delivered-event markers and dead letters).
        queue_prefix: The plan's queue name prefix; a subscription's queue is
            ``<prefix>-subscription-<subscription>``.
        queue_url_base: The URL of the queues' folder, ending in ``/`` (the workflow
            queue's URL without its name).
        region: The AWS region, or None for the standard chain.
        endpoint_url: A local AWS endpoint (moto, LocalStack), or None for AWS.
        dedup_window: How long a delivered event id is remembered.
        max_workers: Threads running boto3 calls.
    """

    bus_name: str
    table: str
    queue_prefix: str
    queue_url_base: str
    region: str | None = None
    endpoint_url: str | None = None
    dedup_window: timedelta = timedelta(days=7)
    max_workers: int = 8

    @classmethod
    def from_config(
        cls, config: EventualConfig, env: Mapping[str, str] | None = None
    ) -> EventBridgeBusConfig:
        """Read the plan's environment (``EVENTUAL_AWS_*``) and ``aws_*`` options, options winning.

        Raises:
            EventualError: The bus, the table, the queue prefix or the workflow queue's
                URL (whose folder holds the subscription queues) is not named.
        """
        env = os.environ if env is None else env
        values = {
            name: env[variable] for name, variable in _ENVIRONMENT.items() if env.get(variable)
        }
        for name in (*_ENVIRONMENT, "region", "endpoint_url"):
            option = config.options.get(f"aws_{name}")
            if option is not None and option != "":
                values[name] = str(option)
        missing = [_ENVIRONMENT[name] for name in _REQUIRED if name not in values]
        if missing:
            raise EventualError(
                f"the eventbridge bus needs {', '.join(missing)} (set by the plan on every "
                "function), or the aws_* options of the same names in [tool.eventual]"
            )
        days = config.options.get("bus_dedup_days", 7)
        try:
            window = timedelta(days=float(str(days)))
        except (ValueError, OverflowError):
            window = timedelta(0)
        if window <= timedelta(0):
            raise EventualError(f"bus_dedup_days must be a positive number of days, got {days!r}")
        return cls(
            dedup_window=window,
            bus_name=values["event_bus_name"],
            table=values["table"],
            queue_prefix=values["queue_prefix"],
            queue_url_base=values["workflow_queue_url"].rsplit("/", 1)[0] + "/",
            region=values.get("region"),
            endpoint_url=values.get("endpoint_url"),
        )

    def queue_url(self, subscription: str, *, dead: bool = False) -> str:
        """Return the URL of a subscription's queue (or of its dead-letter queue)."""
        suffix = f"subscription-{subscription}" + ("-dlq" if dead else "")
        return self.queue_url_base + queue_name(self.queue_prefix, suffix)


class EventBridgeBus:
    """An ``eventual.spi.EventBus`` on EventBridge and SQS."""

    def __init__(
        self,
        config: EventBridgeBusConfig,
        *,
        clients: Clients | None = None,
        session: boto3.Session | None = None,
    ) -> None:
        self.config = config
        self._clients = clients
        self._session = session
        self._own_clients = clients is None

    @property
    def clients(self) -> Clients:
        """The boto3 clients (after :meth:`open`)."""
        if self._clients is None:
            raise EventualError("the eventbridge bus is not open: await bus.open() first")
        return self._clients

    async def open(self) -> EventBridgeBus:
        """Create the boto3 clients (the plan provisions the bus, rules and queues)."""
        if self._clients is None:
            self._clients = Clients(self.config, self._session)
        return self

    async def publish(self, events: Sequence[EventEnvelope]) -> None:
        """Put events on the bus, in batches, retrying entries that failed.

        EventBridge keeps no record of ids, so an event published twice is
        delivered twice; each subscription then runs its handler once per id
        (see ``BusStore``).
        """
        if not events:
            return
        entries = [entry_of(envelope, self.config.bus_name) for envelope in events]
        await put_events(self.clients, entries)

    async def attach(
        self, service: Service, client: Client, now: Callable[[], datetime], *, owner: str
    ) -> SqsDelivery:
        """Return the delivery of ``service``'s subscriptions from their queues."""
        store = BusStore(
            self.clients, self.config.table, service.name, dedup_window=self.config.dedup_window
        )
        return SqsDelivery(
            self.config, self.clients, service, Consumer(service, client, store, now), store
        )

    async def close(self) -> None:
        """Release the clients this bus created."""
        if self._own_clients and self._clients is not None:
            self._clients.close()
            self._clients = None


class SqsDelivery:
    """Polls a service's subscription queues and runs their handlers.

    The ``SubscriptionDelivery`` a long-running process drives; on Lambda the
    event source mapping polls instead (``handle_batch``).
    """

    def __init__(
        self,
        config: EventBridgeBusConfig,
        clients: Clients,
        service: Service,
        consumer: Consumer,
        store: BusStore,
    ) -> None:
        self._config = config
        self._clients = clients
        self._service = service
        self._consumer = consumer
        self._store = store

    async def deliver_due(self) -> int:
        """Receive what each subscription's queue holds now, deliver it and settle it."""
        rounds = [self._deliver_queue(name) for name in self._service.subscriptions]
        return sum(await asyncio.gather(*rounds))

    async def _deliver_queue(self, subscription: str) -> int:
        url = self._config.queue_url(subscription)
        answer = await self._clients.call(
            self._clients.sqs.receive_message,
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        messages = answer.get("Messages", [])
        outcomes = await asyncio.gather(
            *(self._consumer.handle(subscription, received_of(m)) for m in messages)
        )
        for message, outcome in zip(messages, outcomes, strict=True):
            await self._settle(url, message["ReceiptHandle"], outcome)
        return len(messages)

    async def _settle(self, url: str, receipt: str, outcome: Settled) -> None:
        if outcome.kind == "retry":
            await self._clients.call(
                self._clients.sqs.change_message_visibility,
                QueueUrl=url,
                ReceiptHandle=receipt,
                VisibilityTimeout=outcome.delay,
            )
        else:
            await self._clients.call(
                self._clients.sqs.delete_message, QueueUrl=url, ReceiptHandle=receipt
            )

    async def next_due(self) -> datetime | None:
        """Return None: SQS holds back retries itself, so the queues are simply polled."""
        return None

    async def pending(self) -> int:
        """Return how many messages the subscription queues hold (visible or in flight)."""
        total = 0
        for subscription in self._service.subscriptions:
            answer = await self._clients.call(
                self._clients.sqs.get_queue_attributes,
                QueueUrl=self._config.queue_url(subscription),
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )
            total += sum(int(value) for value in answer.get("Attributes", {}).values())
        return total

    async def dead_letters(
        self, *, limit: int = 100, after: str | None = None
    ) -> builtins.list[DeadLetter]:
        """Return the service's dead letters, oldest first, after the ``after`` id.

        Messages the queues' own dead-letter queues caught (a function that kept
        crashing) are moved into the store first, so they are listed too.
        """
        await self.sweep_dead_letter_queues()
        return [stored.letter for stored in await self._store.dead_letters(limit, after)]

    async def sweep_dead_letter_queues(self) -> int:
        """Move messages from the subscriptions' dead-letter queues into the store.

        A message whose event the subscription did handle (its function died
        after recording the delivery, before answering) is dropped instead.
        """
        moved = 0
        for subscription in self._service.subscriptions:
            url = self._config.queue_url(subscription, dead=True)
            while True:
                answer = await self._clients.call(
                    self._clients.sqs.receive_message,
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=0,
                    MessageSystemAttributeNames=["ApproximateReceiveCount"],
                )
                messages = answer.get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    await self._store_crashed(subscription, message)
                    await self._clients.call(
                        self._clients.sqs.delete_message,
                        QueueUrl=url,
                        ReceiptHandle=message["ReceiptHandle"],
                    )
                    moved += 1
        return moved

    async def _store_crashed(self, subscription: str, message: MessageTypeDef) -> None:
        received = received_of(message)
        try:
            envelope = envelope_from_body(received.body)
            if await self._store.delivered(subscription, envelope.id):
                return  # the handler returned; only the function's answer was lost
        except MalformedEvent:
            envelope = EventEnvelope(
                id=f"sqs:{received.message_id}",
                source="unknown",
                name="(malformed)",
                time=self._consumer_now(),
                payload=received.body,
            )
        await self._store.add_dead_letter(
            subscription=subscription,
            event=envelope,
            error_type="DeliveryFailed",
            message=(
                "the subscription's function failed without answering (a crash or a timeout) "
                "as many times as its queue allows"
            ),
            # A message keeps its receive count in the dead-letter queue, and this
            # sweep's own receive counted once more.
            attempts=max(1, received.attempt - 1),
            failed_at=self._consumer_now(),
            body=received.body,
        )

    def _consumer_now(self) -> datetime:
        return self._consumer.now()

    async def redrive(self, ids: Sequence[str] | None = None) -> int:
        """Send dead letters back to their subscription's queue (all when ``ids`` is None)."""
        await self.sweep_dead_letter_queues()
        wanted = None if ids is None else set(ids)
        redriven: list[str] = []
        after: str | None = None
        while True:
            page = await self._store.dead_letters(100, after)
            if not page:
                break
            after = page[-1].letter.id
            for stored in page:
                if wanted is not None and stored.letter.id not in wanted:
                    continue
                await self._clients.call(
                    self._clients.sqs.send_message,
                    QueueUrl=self._config.queue_url(stored.letter.subscription),
                    MessageBody=stored.body,
                )
                await self._store.remove_dead_letters([stored.letter])
                redriven.append(stored.letter.id)
        return len(redriven)


def received_of(message: MessageTypeDef | Mapping[str, Any]) -> Received:
    """Return the :class:`Received` of an SQS message (from ``ReceiveMessage`` or Lambda)."""
    found = message.get("Attributes") or message.get("attributes")
    attributes: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    return Received(
        message_id=str(message.get("MessageId") or message.get("messageId")),
        receipt=str(message.get("ReceiptHandle") or message.get("receiptHandle")),
        body=str(message.get("Body") if "Body" in message else message.get("body")),
        attempt=int(attributes.get("ApproximateReceiveCount", 1)),
    )
