"""``IdempotencyStore`` on DynamoDB: one item per key, taken by a conditional update.

A key's item is ``I#<key>`` (sort key ``I``), in a partition of its own. Taking
a key is one ``UpdateItem`` whose condition says the key is free (no item, an
expired one, or one left unanswered past its hold), so of two concurrent takers
exactly one succeeds; the loser reads the item the winner wrote. The table's TTL
attribute is set to the expiry, so DynamoDB deletes old keys by itself (within
a day or two of expiring, which is why the condition compares the expiry too).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from eventual.spi import KeptAnswer

from ._items import Item, dump_json, from_micros, micros, n, s
from ._store import Store

__all__ = ["Idempotency"]

_FREE = (
    "attribute_not_exists(pk) OR expires_us <= :now "
    "OR (attribute_not_exists(answer) AND held_us <= :now)"
)


def _key(key: str) -> Item:
    return {"pk": s(f"I#{key}"), "sk": s("I")}


class Idempotency:
    """Answers kept under idempotency keys (``IdempotencyStore``)."""

    def __init__(self, store: Store) -> None:
        self._table = store.table

    async def take(self, taking: KeptAnswer, now: datetime) -> KeptAnswer | None:
        """Take a free key; return the live entry instead when there is one."""
        for _ in range(3):
            values = {**_values(taking), ":now": n(micros(now))}
            taken = await self._table.update(
                Key=_key(taking.key),
                UpdateExpression=_SET + " REMOVE answer",
                ConditionExpression=_FREE,
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues=values,
            )
            if taken is not None:
                return None
            item = await self._table.get(_key(taking.key))
            if item is not None:
                existing = _loaded(taking.key, item)
                if existing.live_at(now):
                    return existing
            # Freed or expired between the two calls: try to take it again.
        raise RuntimeError(f"idempotency key {taking.key!r} kept changing hands; retry")

    async def keep(self, kept: KeptAnswer) -> None:
        """Store the answer under its key."""
        values = _values(kept)
        if kept.answer is None:
            expression = _SET + " REMOVE answer"
        else:
            expression = _SET + ", answer = :answer"
            values[":answer"] = s(dump_json(kept.answer))
        await self._table.update(
            Key=_key(kept.key),
            UpdateExpression=expression,
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues=values,
        )

    async def forget(self, key: str, fingerprint: str) -> None:
        """Free a key taken with this fingerprint (it expires at once)."""
        await self._table.update(
            Key=_key(key),
            UpdateExpression="SET expires_us = :zero",
            ConditionExpression="fingerprint = :fingerprint",
            ExpressionAttributeValues={":zero": n(0), ":fingerprint": s(fingerprint)},
        )


_SET = "SET fingerprint = :fingerprint, expires_us = :expires, held_us = :held, #ttl = :ttl"


def _values(kept: KeptAnswer) -> dict[str, Any]:
    expires = micros(kept.expires_at)
    return {
        ":fingerprint": s(kept.fingerprint),
        ":expires": n(expires),
        ":held": n(micros(kept.held_until)),
        # DynamoDB's TTL is in epoch seconds; it deletes the item some time after.
        ":ttl": n(expires // 1_000_000 + 1),
    }


def _loaded(key: str, item: Item) -> KeptAnswer:
    answer = item.get("answer")
    return KeptAnswer(
        key=key,
        fingerprint=str(item["fingerprint"]["S"]),
        answer=None if answer is None else json.loads(answer["S"]),
        expires_at=from_micros(int(item["expires_us"]["N"])),
        held_until=from_micros(int(item["held_us"]["N"])),
    )
