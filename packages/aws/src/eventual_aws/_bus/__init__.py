"""The ``eventbridge`` event bus: EventBridge rules feeding one SQS queue per subscription."""

from ._bus import EventBridgeBus, EventBridgeBusConfig, SqsDelivery, received_of
from ._consume import Consumer, Received, Settled
from ._envelope import EventTooLarge, MalformedEvent, entry_of, envelope_from_body
from ._lambda import handle_batch
from ._publish import PublishFailed, batches, put_events
from ._served import DeadLetterClient

__all__ = [
    "Consumer",
    "DeadLetterClient",
    "EventBridgeBus",
    "EventBridgeBusConfig",
    "EventTooLarge",
    "MalformedEvent",
    "PublishFailed",
    "Received",
    "Settled",
    "SqsDelivery",
    "batches",
    "entry_of",
    "envelope_from_body",
    "handle_batch",
    "put_events",
    "received_of",
]
