"""``TaskDispatch`` on DynamoDB: one item per attempt, in dispatch order through ``gsi1``.

An attempt ``K#<token>`` is in the index partition ``tasks`` sorted by its
dispatch stamp, with ``nb`` (not before, epoch microseconds) beside it. With
``task_shards`` above one, the partition of shard ``k > 0`` is ``tasks#<k>``,
``k`` the CRC-32 of the token; a poll merges the shards in dispatch order. Claims,
renewals and heartbeats are conditional updates of that one item; ``finish``
deletes it and queues the outcome in one transaction, which may also claim the
outcome's execution. On AWS the task's function is woken by its queue for one
token and claims it by key (:meth:`Tasks.claim_token`).
"""

from __future__ import annotations

import asyncio
import builtins
import uuid
from collections.abc import Sequence
from contextlib import aclosing
from datetime import datetime, timedelta

from eventual.codec import JsonValue
from eventual.spi import InboundBatch, InboundMessage, Lease, TaskRequest

from ._doorbells import Bell
from ._items import (
    EARLIEST,
    Item,
    from_micros,
    load_task,
    micros,
    n,
    s,
    task_key,
    task_partition,
)
from ._store import Pending, Store, held_for, now_seconds
from ._table import Cancelled, Write, merged

__all__ = ["Tasks"]

_UNCLAIMED = "attribute_not_exists(#until) OR #until < :real"
_EARLIEST_US = micros(EARLIEST)


class Tasks:
    """Task attempts (``TaskDispatch``)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table

    def _partitions(self) -> builtins.list[str]:
        return [task_partition(shard) for shard in range(self._store.config.task_shards)]

    async def _request(self, item: Item) -> TaskRequest:
        return load_task(await self._store.payloads.get(item, "req"))

    async def claim(
        self, owner: str, now: datetime, limit: int, lease: timedelta
    ) -> builtins.list[TaskRequest]:
        """Claim up to ``limit`` ready attempts in dispatch order."""
        if limit <= 0:
            return []
        real = now_seconds()
        shards = [
            self._table.query(
                limit=max(limit, 10),
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :tasks",
                FilterExpression=f"({_UNCLAIMED}) AND nb <= :now",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={
                    ":tasks": s(partition),
                    ":real": n(real),
                    ":now": n(micros(now)),
                },
            )
            for partition in self._partitions()
        ]
        candidates: builtins.list[Item] = []
        async with aclosing(merged(shards, "gsi1sk")) as ready:
            async for item in ready:
                candidates.append(item)
                if len(candidates) >= limit:
                    break
        claimed = await asyncio.gather(
            *(self._claim(item, owner, now, lease) for item in candidates)
        )
        return [request for request in claimed if request is not None]

    async def _claim(
        self, key: Item, owner: str, now: datetime, lease: timedelta
    ) -> TaskRequest | None:
        real = now_seconds()
        item = await self._table.update(
            Key={"pk": key["pk"], "sk": key["sk"]},
            UpdateExpression="SET #owner = :owner, #lease = :lease, #until = :until",
            ConditionExpression=f"attribute_exists(pk) AND nb <= :now AND ({_UNCLAIMED})",
            ExpressionAttributeNames={"#owner": "owner", "#lease": "lease", "#until": "until"},
            ExpressionAttributeValues={
                ":owner": s(owner),
                ":lease": s(f"{owner}:{uuid.uuid4()}"),
                ":until": n(real + lease.total_seconds()),
                ":real": n(real),
                ":now": n(micros(now)),
            },
        )
        return None if item is None else await self._request(item)

    async def claim_token(
        self, token: str, owner: str, now: datetime, lease: timedelta
    ) -> TaskRequest | None:
        """Claim one attempt by token if it is ready and free: what a task's function does."""
        return await self._claim(task_key(token), owner, now, lease)

    async def waiting(self, token: str) -> Pending | None:
        """Say when an attempt will be ready and how long it is held; None when it is gone.

        What a task's function reads when :meth:`claim_token` took nothing.
        """
        item = await self._table.get(task_key(token))
        if item is None:
            return None
        ready_in = max(0.0, int(item["nb"]["N"]) / 1_000_000 - now_seconds())
        return Pending(ready_in=ready_in, held_for=held_for(item))

    async def renew(self, owner: str, tokens: Sequence[str], lease: timedelta) -> None:
        """Extend the claims ``owner`` still holds."""
        until = n(now_seconds() + lease.total_seconds())
        await asyncio.gather(
            *(
                self._table.update(
                    Key=task_key(token),
                    UpdateExpression="SET #until = :until",
                    ConditionExpression="#owner = :owner",
                    ExpressionAttributeNames={"#owner": "owner", "#until": "until"},
                    ExpressionAttributeValues={":owner": s(owner), ":until": until},
                )
                for token in tokens
            )
        )

    async def heartbeat(self, token: str, now: datetime, details: JsonValue) -> bool:
        """Record a heartbeat on the attempt; False when it is gone."""
        item = await self._table.update(
            Key=task_key(token),
            UpdateExpression="SET hb = :hb",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":hb": n(micros(now))},
        )
        return item is not None

    async def last_heartbeat(self, token: str) -> datetime | None:
        """Return the attempt's last heartbeat, or None."""
        item = await self._table.get(task_key(token))
        if item is None or "hb" not in item:
            return None
        return from_micros(int(item["hb"]["N"]))

    async def finish(
        self, token: str, outcome: InboundMessage | None = None, *, claim: Lease | None = None
    ) -> InboundBatch | None:
        """Forget the attempt and queue its outcome in one transaction, claiming when asked.

        With ``claim`` the transaction also claims the execution (running and
        not held); when that condition fails, the outcome is queued without it
        and None returned.
        """
        forget = Write(op={"Delete": {"TableName": self._table.name, "Key": task_key(token)}})
        if outcome is None:
            await self._table.transact([forget])
            return None
        execution_id = outcome.execution_id
        message = await self._store.message_put(outcome, group=execution_id)
        if claim is not None:
            real = now_seconds()
            lease = f"{claim.owner}:{uuid.uuid4()}"
            terms = {
                "owner": claim.owner,
                "lease": lease,
                "until": real + claim.duration.total_seconds(),
                "now": real,
            }
            take = self._store.inbox_update(execution_id, 1, terms)
            try:
                await self._table.transact([forget, message, take])
            except Cancelled:
                pass  # held by another, or ended: queue only
            else:
                messages = await self._store.messages(execution_id)
                return InboundBatch(
                    execution_id=execution_id, messages=tuple(messages), lease=lease
                )
        inbox = self._store.inbox_update(execution_id, 1, None)
        await self._table.transact([forget, message, inbox])
        await self._store.ring([Bell(kind="workflow", target=execution_id, id=outcome.id)])
        return None

    async def next_ready(self) -> datetime | None:
        """Return the earliest ``not_before`` of unclaimed attempts (``datetime.min`` if now)."""
        earliest: int | None = None
        real = now_seconds()
        for partition in self._partitions():
            async for item in self._table.query(
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :tasks",
                FilterExpression=_UNCLAIMED,
                ProjectionExpression="nb",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":tasks": s(partition), ":real": n(real)},
            ):
                value = int(item["nb"]["N"])
                earliest = value if earliest is None else min(earliest, value)
        if earliest is None:
            return None
        return EARLIEST if earliest == _EARLIEST_US else from_micros(earliest)

    async def pending(self) -> int:
        """Return how many attempts are waiting or running."""
        counts = await asyncio.gather(
            *(
                self._table.count(
                    IndexName="gsi1",
                    KeyConditionExpression="gsi1pk = :tasks",
                    ExpressionAttributeValues={":tasks": s(partition)},
                )
                for partition in self._partitions()
            )
        )
        return sum(counts)
