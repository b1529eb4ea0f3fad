"""A subscription's Lambda function: one SQS batch in, partial batch failures out.

The event source mapping of the subscription's queue reports batch item
failures (``ReportBatchItemFailures``, set by the plan), so one failed delivery
never makes SQS deliver the batch's other messages again. A delivery to retry is
made visible again after its back-off and reported failed; a delivery done or
dead-lettered is left out of the failures, so Lambda deletes it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ._bus import EventBridgeBusConfig, received_of
from ._consume import Consumer

__all__ = ["handle_batch"]

log = logging.getLogger("eventual.aws.bus")


async def handle_batch(
    records: Sequence[Mapping[str, Any]],
    *,
    subscription: str,
    consumer: Consumer,
    config: EventBridgeBusConfig,
    change_visibility: Any,
) -> dict[str, list[dict[str, str]]]:
    """Deliver an SQS batch to ``subscription`` and return the partial batch response.

    Args:
        records: The ``Records`` of the SQS event.
        subscription: The subscription this function runs.
        consumer: Runs handlers and decides each outcome.
        config: Where the subscription's queue is.
        change_visibility: An async callable ``(queue_url, receipt, seconds)`` that
            holds a message back for its retry delay.

    Returns:
        ``{"batchItemFailures": [{"itemIdentifier": message id}, ...]}``.
    """
    failures: list[dict[str, str]] = []
    for record in records:
        received = received_of(record)
        try:
            outcome = await consumer.handle(subscription, received)
        except Exception:
            # The store could not be reached, say: SQS delivers the message again
            # after its visibility timeout, and nothing was settled.
            log.exception("delivering message %s to %s failed", received.message_id, subscription)
            failures.append({"itemIdentifier": received.message_id})
            continue
        if outcome.kind != "retry":
            continue
        try:
            await change_visibility(config.queue_url(subscription), received.receipt, outcome.delay)
        except Exception:
            log.exception("holding back message %s for its retry failed", received.message_id)
        failures.append({"itemIdentifier": received.message_id})
    return {"batchItemFailures": failures}
