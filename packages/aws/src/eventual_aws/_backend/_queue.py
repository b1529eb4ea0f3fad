"""``WorkflowQueue`` on DynamoDB: messages are items, the claim is a conditional update.

A message is an item ``M#<id>`` in its execution's partition, put only if absent
(so a redelivered id is ignored) and only while the execution runs (its record's
update, in the same transaction, is conditional on ``status``). The record of an
execution with messages waiting is in the ``inbox`` index (``gsi2``, sorted by
first arrival) and counts its messages in ``mseq``; with ``inbox_shards``
above one, shard ``k > 0`` (the CRC-32 of the execution id) is ``inbox#<k>``,
and a poll merges the shards by first arrival. A claim is one conditional
``UpdateItem`` on the record (running, in the inbox, not held or lapsed) that
sets owner, lease token and expiry; the commit that consumes the batch presents
the token. A claim that finds no messages leaves the inbox, unless ``mseq``
moved meanwhile. On AWS the orchestrator's function, woken by the workflow
queue, claims the one execution it was rung for (:meth:`Queue.claim_execution`).
"""

from __future__ import annotations

import asyncio
import builtins
import uuid
from collections.abc import Sequence
from contextlib import aclosing
from datetime import timedelta

from eventual.spi import InboundBatch, InboundMessage

from ._doorbells import Bell
from ._items import Item, inbox_key, n, s
from ._store import RUNNING, Pending, Store, held_for, now_seconds, record_key
from ._table import MAX_TRANSACTION_ITEMS, Write, merged

__all__ = ["Queue"]

_NAMES = {"#owner": "owner", "#lease": "lease", "#until": "until", "#status": "status"}


class Queue:
    """Inbound messages per execution (``WorkflowQueue``)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table

    def _partitions(self) -> builtins.list[str]:
        return [inbox_key(shard) for shard in range(self._store.config.inbox_shards)]

    async def enqueue(self, messages: Sequence[InboundMessage]) -> None:
        """Queue messages for running executions (one transaction per 100 items) and ring."""
        by_target: dict[str, dict[str, InboundMessage]] = {}
        for message in messages:
            by_target.setdefault(message.execution_id, {}).setdefault(message.id, message)
        chunk: list[Write] = []
        for target, queued in by_target.items():
            group = [await self._store.message_put(m, group=target) for m in queued.values()]
            group.append(self._store.inbox_update(target, len(group), None))
            if chunk and len(chunk) + len(group) > MAX_TRANSACTION_ITEMS:
                await self._table.transact(chunk)
                chunk = []
            chunk += group
        if chunk:
            await self._table.transact(chunk)
        await self._store.ring(
            [
                Bell(kind="workflow", target=target, id=message_id)
                for target, queued in by_target.items()
                for message_id in queued
            ]
        )

    async def claim(self, owner: str, limit: int, lease: timedelta) -> builtins.list[InboundBatch]:
        """Claim up to ``limit`` executions in the inbox, oldest arrival first.

        One query of the inbox index, then one conditional update and one query
        of messages per execution claimed.
        """
        batches: builtins.list[InboundBatch] = []
        if limit <= 0:
            return batches
        candidates: builtins.list[str] = []
        now = now_seconds()
        shards = [
            self._table.query(
                limit=max(limit, 10),
                IndexName="gsi2",
                KeyConditionExpression="gsi2pk = :inbox",
                FilterExpression="attribute_not_exists(#until) OR #until < :now",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":inbox": s(partition), ":now": n(now)},
            )
            for partition in self._partitions()
        ]
        async with aclosing(merged(shards, "gsi2sk")) as inbox:
            async for item in inbox:
                candidates.append(item["pk"]["S"][2:])
                if len(candidates) >= limit - len(batches):
                    batches += await self._take_all(candidates, owner, lease)
                    candidates = []
                    if len(batches) >= limit:
                        return batches
        if candidates:
            batches += await self._take_all(candidates, owner, lease)
        return batches

    async def _take_all(
        self, execution_ids: builtins.list[str], owner: str, lease: timedelta
    ) -> builtins.list[InboundBatch]:
        taken = await asyncio.gather(
            *(self.claim_execution(id_, owner, lease) for id_ in execution_ids)
        )
        return [batch for batch in taken if batch is not None]

    async def claim_execution(
        self, execution_id: str, owner: str, lease: timedelta
    ) -> InboundBatch | None:
        """Claim one execution's messages, if it runs, has some and nobody holds it.

        What the orchestrator's function does with a workflow queue message.
        """
        now = now_seconds()
        item = await self._table.update(
            Key=record_key(execution_id),
            UpdateExpression="SET #owner = :owner, #lease = :lease, #until = :until",
            ConditionExpression=(
                "#status = :running AND attribute_exists(gsi2pk) AND "
                "(attribute_not_exists(#until) OR #until < :now)"
            ),
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues={
                ":owner": s(owner),
                ":lease": s(f"{owner}:{uuid.uuid4()}"),
                ":until": n(now + lease.total_seconds()),
                ":now": n(now),
                ":running": s(RUNNING),
            },
        )
        if item is None:
            return None
        return await self._store.batch_of(item)

    async def waiting(self, execution_id: str) -> Pending | None:
        """Say whether a running execution has messages waiting, and how long it is held.

        What the orchestrator's function reads when :meth:`claim_execution` took
        nothing: None when the execution is unknown, ended or has nothing queued.
        """
        item = await self._table.get(record_key(execution_id))
        if item is None or item["status"]["S"] != RUNNING or "gsi2pk" not in item:
            return None
        return Pending(held_for=held_for(item))

    async def release(self, batch: InboundBatch) -> None:
        """Give up a claim that is still this batch's; the messages stay queued."""
        await self._table.update(
            Key=record_key(batch.execution_id),
            UpdateExpression="REMOVE #owner, #lease, #until",
            ConditionExpression="#lease = :lease",
            ExpressionAttributeNames={"#owner": "owner", "#lease": "lease", "#until": "until"},
            ExpressionAttributeValues={":lease": s(batch.lease)},
        )

    async def pending(self) -> int:
        """Count the messages of executions in the inbox (a query per such execution)."""
        ids: builtins.list[str] = []
        for partition in self._partitions():
            async for item in self._table.query(
                IndexName="gsi2",
                KeyConditionExpression="gsi2pk = :inbox",
                ExpressionAttributeValues={":inbox": s(partition)},
            ):
                ids.append(item["pk"]["S"][2:])
        counts = await asyncio.gather(*(self._count(id_) for id_ in ids))
        return sum(counts)

    async def _count(self, execution_id: str) -> int:
        values: Item = {":pk": s(f"X#{execution_id}"), ":m": s("M#")}
        return await self._table.count(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        )
