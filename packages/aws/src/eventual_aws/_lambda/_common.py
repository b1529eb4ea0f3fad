"""What the SQS-triggered handlers share: leases from the invocation, holding a message back."""

from __future__ import annotations

import logging
import math
from datetime import timedelta

from .._bus._consume import MAX_VISIBILITY_SECONDS
from ._runtime import Runtime
from ._sqs import Record, queue_url_of

__all__ = ["hold_back", "lease_of"]

log = logging.getLogger("eventual.aws.lambda")

_MARGIN = timedelta(seconds=10)


def lease_of(context: object, default: timedelta) -> timedelta:
    """Return how long a claim taken now should last: the invocation's remaining time and a margin.

    A function that dies (a timeout, out of memory) stops renewing nothing: its
    claims lapse shortly after the invocation could have ended, before SQS
    delivers its message again (the plan sets visibility timeouts to six times the
    function's timeout), so the redelivery can claim the work.
    """
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        try:
            millis = int(remaining())
        except (TypeError, ValueError):
            millis = 0
        if millis > 0:
            return timedelta(milliseconds=millis) + _MARGIN
    return default


async def hold_back(runtime: Runtime, record: Record, seconds: float) -> None:
    """Make ``record`` visible again in ``seconds`` (capped at SQS's 12 hours), best effort.

    Used with a batch item failure when another function holds the work the
    message points at: SQS delivers it again once that claim has lapsed, rather
    than after the queue's whole visibility timeout.
    """
    url = queue_url_of(record.source_arn, runtime.backend.config.workflow_queue_url)
    if url is None or not record.receipt:
        return
    clients = runtime.backend.clients
    try:
        await clients.call(
            clients.sqs.change_message_visibility,
            QueueUrl=url,
            ReceiptHandle=record.receipt,
            VisibilityTimeout=min(MAX_VISIBILITY_SECONDS, max(1, math.ceil(seconds))),
        )
    except Exception as error:  # the queue's own visibility timeout applies instead
        log.warning("could not hold back message %s: %s", record.message_id, error)
