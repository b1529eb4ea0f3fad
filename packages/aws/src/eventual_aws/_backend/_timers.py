"""``TimerService`` on DynamoDB: one item per timer, found by due time through ``gsi1``.

A timer item ``T#<id>`` is in the index partition ``timers#<shard>`` sorted by
``<due>#<id>``. Claiming is a conditional update (not held, or its lease lapsed,
and still due at the time read) that sets owner and expiry; completing deletes.
On AWS the timer's doorbell (an SQS delay or a one-time schedule) wakes the
timer function at the due time for that one timer; the index serves engines
that poll (``claim_due``, ``next_due``) and sweeps that repair a lost doorbell.

Why one shard by default: a poll reads every shard, so shards multiply what an
idle poll costs, while one index partition takes about a thousand timer writes
a second. A service scheduling more than that sets ``timer_shards``; the shard
is a hash of the timer id, so replacing a timer stays in its shard.
"""

from __future__ import annotations

import asyncio
import builtins
import heapq
from collections.abc import Sequence
from datetime import datetime, timedelta

from eventual.spi import TimerRequest

from ._doorbells import Bell
from ._items import Item, load_timer, n, s, sortable, timer_key
from ._store import Pending, Store, held_for, now_seconds

__all__ = ["Timers"]

_UNCLAIMED = "attribute_not_exists(#until) OR #until < :real"


class Timers:
    """Durable timers (``TimerService``)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table

    async def schedule(self, timers: Sequence[TimerRequest]) -> None:
        """Put timers (replacing any with the same id and its claim) and ring their doorbells."""
        unique = {timer.id: timer for timer in timers}
        writes = [await self._store.timer_put(timer) for timer in unique.values()]
        await self._table.batch_write(
            [{"PutRequest": {"Item": w.op["Put"]["Item"]}} for w in writes]
        )
        await self._store.ring(
            [Bell(kind="timer", target=t.execution_id, id=t.id, due=t.due) for t in unique.values()]
        )

    async def _due(self, shard: int, until: str, limit: int | None, real: float) -> list[Item]:
        found: list[Item] = []
        async for item in self._table.query(
            limit=limit,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :shard AND gsi1sk <= :until",
            FilterExpression=_UNCLAIMED,
            ExpressionAttributeNames={"#until": "until"},
            ExpressionAttributeValues={
                ":shard": s(f"timers#{shard}"),
                ":until": s(until),
                ":real": n(real),
            },
        ):
            found.append(item)
            if limit is not None and len(found) >= limit:
                break
        return found

    async def _each_shard(self, until: str, limit: int | None) -> list[Item]:
        real = now_seconds()
        shards = await asyncio.gather(
            *(
                self._due(shard, until, limit, real)
                for shard in range(self._store.config.timer_shards)
            )
        )
        merged = heapq.merge(*shards, key=lambda item: item["gsi1sk"]["S"])
        return list(merged)[:limit] if limit is not None else list(merged)

    async def claim_due(
        self, owner: str, now: datetime, limit: int, lease: timedelta
    ) -> builtins.list[TimerRequest]:
        """Claim up to ``limit`` due timers, earliest first (ties by id)."""
        if limit <= 0:
            return []
        candidates = await self._each_shard(f"{sortable(now)}#\uffff", limit)
        claimed = await asyncio.gather(*(self._claim(item, owner, lease) for item in candidates))
        return [timer for timer in claimed if timer is not None]

    async def _claim(self, item: Item, owner: str, lease: timedelta) -> TimerRequest | None:
        real = now_seconds()
        claimed = await self._table.update(
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET #owner = :owner, #until = :until",
            ConditionExpression=f"attribute_exists(pk) AND gsi1sk = :sk AND ({_UNCLAIMED})",
            ExpressionAttributeNames={"#owner": "owner", "#until": "until"},
            ExpressionAttributeValues={
                ":owner": s(owner),
                ":until": n(real + lease.total_seconds()),
                ":real": n(real),
                ":sk": item["gsi1sk"],
            },
        )
        return None if claimed is None else load_timer(claimed["timer"]["S"])

    async def claim(
        self, timer_id: str, owner: str, now: datetime, lease: timedelta
    ) -> TimerRequest | None:
        """Claim one timer by id if it is due at ``now`` and free: what the timer function does."""
        item = await self._table.get(timer_key(timer_id))
        if item is None or item["gsi1sk"]["S"] > f"{sortable(now)}#\uffff":
            return None
        return await self._claim(item, owner, lease)

    async def waiting(self, timer_id: str) -> Pending | None:
        """Say when a timer is due and how long it is held; None when it is gone (fired).

        What the timer function reads when :meth:`claim` took nothing.
        """
        item = await self._table.get(timer_key(timer_id))
        if item is None:
            return None
        due = load_timer(item["timer"]["S"]).due
        ready_in = max(0.0, due.timestamp() - now_seconds())
        return Pending(ready_in=ready_in, held_for=held_for(item))

    async def complete(self, timer_ids: Sequence[str]) -> None:
        """Delete fired timers."""
        keys = {timer_id: timer_key(timer_id) for timer_id in timer_ids}
        await self._table.batch_write([{"DeleteRequest": {"Key": key}} for key in keys.values()])

    async def next_due(self) -> datetime | None:
        """Return the due time of the earliest unclaimed timer."""
        first = await self._each_shard("\uffff", 1)
        return load_timer(first[0]["timer"]["S"]).due if first else None
