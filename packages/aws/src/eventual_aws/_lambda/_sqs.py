"""Reading the Lambda SQS event, and answering it with partial batch failures.

Every SQS-triggered function reports batch item failures (the plan sets
``ReportBatchItemFailures`` on each event source): the answer names the messages
SQS must deliver again, and Lambda deletes the others. A record is reported
failed only when trying again can help (the store was unreachable, another
function holds the work); a record that can never succeed (a body that is not a
doorbell) is logged and acknowledged, because a doorbell carries no state: the
table holds the work it points at, and nothing is lost by dropping it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = ["BadEvent", "Record", "records_of"]


class BadEvent(ValueError):
    """The event is not what the function's trigger sends; the message says what was wrong."""


@attrs.frozen(kw_only=True)
class Record:
    """One SQS message of a Lambda event.

    Attributes:
        message_id: SQS's message id (what a batch item failure names).
        receipt: The receipt handle.
        body: The message body.
        receive_count: How many times SQS delivered it, this time included.
        source_arn: The queue's ARN.
        raw: The record as Lambda gave it.
    """

    message_id: str
    receipt: str
    body: str
    receive_count: int
    source_arn: str
    raw: Mapping[str, Any]

    @property
    def redelivered(self) -> bool:
        """Whether SQS delivered this message before (a function may have died on it)."""
        return self.receive_count > 1

    def fields(self, *names: str) -> dict[str, str]:
        """Return the named string fields of the JSON body.

        Raises:
            BadEvent: The body is not a JSON object with each field a non-empty string.
        """
        try:
            document = json.loads(self.body)
        except ValueError:
            raise BadEvent(
                f"message {self.message_id}: the body is not JSON: {self.body[:200]!r}"
            ) from None
        if not isinstance(document, dict):
            raise BadEvent(
                f"message {self.message_id}: the body is not a JSON object: {self.body[:200]!r}"
            )
        found: dict[str, str] = {}
        for name in names:
            value = document.get(name)
            if not isinstance(value, str) or not value:
                raise BadEvent(
                    f"message {self.message_id}: the body has no {name!r} string: "
                    f"{self.body[:200]!r}"
                )
            found[name] = value
        return found


def records_of(event: object) -> list[Record]:
    """Return the records of a Lambda SQS event.

    Raises:
        BadEvent: The event is not an SQS event (no ``Records`` list of SQS messages).
    """
    if not isinstance(event, Mapping) or not isinstance(event.get("Records"), Sequence):
        kind = (
            type(event).__name__ if not isinstance(event, Mapping) else f"keys {sorted(event)[:8]}"
        )
        raise BadEvent(
            f"expected an SQS event (a 'Records' list), got {kind}: is this function "
            "triggered by its queue's event source mapping?"
        )
    records: list[Record] = []
    for index, raw in enumerate(event["Records"]):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("messageId"), str):
            raise BadEvent(f"record {index} is not an SQS message (no 'messageId')")
        attributes = raw.get("attributes")
        attributes = attributes if isinstance(attributes, Mapping) else {}
        try:
            count = int(attributes.get("ApproximateReceiveCount", 1))
        except (TypeError, ValueError):
            count = 1
        body = raw.get("body")
        records.append(
            Record(
                message_id=raw["messageId"],
                receipt=str(raw.get("receiptHandle", "")),
                body=body if isinstance(body, str) else json.dumps(body),
                receive_count=count,
                source_arn=str(raw.get("eventSourceARN", "")),
                raw=raw,
            )
        )
    return records


def answer(failed: Sequence[str]) -> dict[str, object]:
    """Return the partial batch response naming the messages to deliver again."""
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def queue_url_of(arn: str, like: str | None) -> str | None:
    """Return the URL of the queue with ``arn``, in the folder of the queue at URL ``like``.

    Queue URLs are ``<endpoint>/<account>/<name>`` and ARNs end in ``:<name>``; the
    folder is taken from a configured URL so a local endpoint works the same.
    """
    if not arn or not like:
        return None
    return f"{like.rsplit('/', 1)[0]}/{arn.rsplit(':', 1)[-1]}"
