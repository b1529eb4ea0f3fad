"""What the EventBridge bus keeps in the service's table: delivered ids and dead letters.

Two kinds of item, beside the runtime backend's (docs/aws.md, item layout):

- a delivered event: ``pk`` = ``B#d#<service>#<subscription>#<event id>``,
  ``sk`` = ``B``, and ``ttl`` (the end of the deduplication window);
- a dead letter: ``pk`` = ``B#dl#<service>``, ``sk`` = its id (a ULID), with
  ``letter`` (JSON) and ``body`` (the message that redrives it);
- beside each dead letter, its key: ``pk`` = ``B#dk#<service>#<subscription>#<event
  id>``, ``sk`` = ``B``, written in the same transaction only if absent, so a
  delivery that gave up, crashed before its message was settled and gave up
  again on the redelivery (or a message handed over twice) stores one dead
  letter, not two. A redrive removes both, so the event can fail again later.

SQS and EventBridge both deliver at least once, and a publisher that crashed may
publish an event again: a subscription runs its handler for an event id only
while no *delivered* item exists for it, and writes that item once the handler
returned, so a successful delivery is never repeated within the window. Each item
has its own partition key, so deliveries never contend. Dead letters of one
service share a partition, ordered by id (ULIDs sort by time), so they list
oldest first with an ``after`` cursor and cost one ``Query`` a page.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from botocore.exceptions import ClientError
from ulid import ULID

from eventual.spi import DeadLetter, EventEnvelope

if TYPE_CHECKING:
    from .._backend._clients import Clients

__all__ = ["BusStore", "StoredDeadLetter"]


@attrs.frozen(kw_only=True)
class StoredDeadLetter:
    """A dead letter and the SQS message body that redrives it."""

    letter: DeadLetter
    body: str


def _envelope_json(envelope: EventEnvelope) -> dict[str, Any]:
    return {
        "id": envelope.id,
        "source": envelope.source,
        "name": envelope.name,
        "time": envelope.time.isoformat(),
        "payload": envelope.payload,
    }


def _letter_json(letter: DeadLetter) -> str:
    return json.dumps(
        {
            "id": letter.id,
            "subscription": letter.subscription,
            "event": _envelope_json(letter.event),
            "error_type": letter.error_type,
            "message": letter.message,
            "attempts": letter.attempts,
            "failed_at": letter.failed_at.isoformat(),
        },
        separators=(",", ":"),
    )


def _letter_from_json(text: str) -> DeadLetter:
    data = json.loads(text)
    event = data["event"]
    return DeadLetter(
        id=data["id"],
        subscription=data["subscription"],
        event=EventEnvelope(
            id=event["id"],
            source=event["source"],
            name=event["name"],
            time=datetime.fromisoformat(event["time"]),
            payload=event["payload"],
        ),
        error_type=data["error_type"],
        message=data["message"],
        attempts=data["attempts"],
        failed_at=datetime.fromisoformat(data["failed_at"]),
    )


class BusStore:
    """Delivered-event markers and dead letters of one service, in the service's table."""

    def __init__(
        self, clients: Clients, table: str, service: str, *, dedup_window: timedelta
    ) -> None:
        self._clients = clients
        self._table = table
        self._service = service
        self._window = dedup_window

    def _delivered_key(self, subscription: str, event_id: str) -> dict[str, Any]:
        return {
            "pk": {"S": f"B#d#{self._service}#{subscription}#{event_id}"},
            "sk": {"S": "B"},
        }

    def _letter_key(self, subscription: str, event_id: str) -> dict[str, Any]:
        return {
            "pk": {"S": f"B#dk#{self._service}#{subscription}#{event_id}"},
            "sk": {"S": "B"},
        }

    async def delivered(self, subscription: str, event_id: str) -> bool:
        """Return whether ``subscription`` already handled the event ``event_id``."""
        answer = await self._clients.call(
            self._clients.dynamodb.get_item,
            TableName=self._table,
            Key=self._delivered_key(subscription, event_id),
            ConsistentRead=True,
            ProjectionExpression="pk",
        )
        return "Item" in answer

    async def mark_delivered(self, subscription: str, event_id: str, now: datetime) -> None:
        """Remember that ``subscription`` handled ``event_id``, for the deduplication window."""
        expires = int((now + self._window).timestamp())
        await self._clients.call(
            self._clients.dynamodb.put_item,
            TableName=self._table,
            Item={**self._delivered_key(subscription, event_id), "ttl": {"N": str(expires)}},
        )

    async def add_dead_letter(
        self,
        *,
        subscription: str,
        event: EventEnvelope,
        error_type: str,
        message: str,
        attempts: int,
        failed_at: datetime,
        body: str,
    ) -> DeadLetter:
        """Store a dead letter (with the message that redrives it) and return it.

        When ``subscription`` already holds a dead letter of ``event`` (this
        delivery gave up before, and crashed or was handed over twice), nothing
        is stored and the letter is returned as it would have been.
        """
        letter = DeadLetter(
            id=str(ULID.from_datetime(failed_at.astimezone(UTC))),
            subscription=subscription,
            event=event,
            error_type=error_type,
            message=message,
            attempts=attempts,
            failed_at=failed_at,
        )
        item = {
            "pk": {"S": f"B#dl#{self._service}"},
            "sk": {"S": letter.id},
            "letter": {"S": _letter_json(letter)},
            "body": {"S": body},
        }
        key = {**self._letter_key(subscription, event.id), "letter_id": {"S": letter.id}}
        try:
            await self._clients.call(
                self._clients.dynamodb.transact_write_items,
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": key,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self._table, "Item": item}},
                ],
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons") or []
            if not any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                raise
        return letter

    async def dead_letters(self, limit: int, after: str | None) -> list[StoredDeadLetter]:
        """Return up to ``limit`` dead letters, oldest first, after the id ``after``."""
        condition = "pk = :pk"
        values: dict[str, Any] = {":pk": {"S": f"B#dl#{self._service}"}}
        if after is not None:
            condition += " AND sk > :after"
            values[":after"] = {"S": after}
        found: list[StoredDeadLetter] = []
        start: dict[str, Any] | None = None
        while len(found) < limit:
            request: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": values,
                "ConsistentRead": True,
                "Limit": limit - len(found),
            }
            if start is not None:
                request["ExclusiveStartKey"] = start
            answer = await self._clients.call(self._clients.dynamodb.query, **request)
            for item in answer.get("Items", []):
                found.append(
                    StoredDeadLetter(
                        letter=_letter_from_json(item["letter"]["S"]), body=item["body"]["S"]
                    )
                )
            start = answer.get("LastEvaluatedKey")
            if start is None:
                break
        return found

    async def remove_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Forget dead letters (after they were redriven), each with its key."""
        for letter in letters:
            letter_key = {"pk": {"S": f"B#dl#{self._service}"}, "sk": {"S": letter.id}}
            await self._clients.call(
                self._clients.dynamodb.transact_write_items,
                TransactItems=[
                    {"Delete": {"TableName": self._table, "Key": letter_key}},
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": self._letter_key(letter.subscription, letter.event.id),
                        }
                    },
                ],
            )
