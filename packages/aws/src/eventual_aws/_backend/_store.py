"""What the parts of one AWS backend share: the table, payloads, doorbells and common items."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from eventual import ExecutionStatus
from eventual.history import ExecutionRecord, HistoryEvent, WorkflowStarted
from eventual.spi import InboundBatch, InboundMessage, TimerRequest

from ._clients import Clients
from ._config import AwsBackendConfig
from ._doorbells import Bell, Doorbells
from ._items import (
    Item,
    Payloads,
    dump_event,
    dump_record,
    dump_timer,
    execution_pk,
    history_sk,
    inbox_key,
    listing_key,
    listing_sk,
    load_event,
    load_record,
    n,
    outbox_key,
    s,
    shard_of,
    sortable,
    stamp,
    timer_key,
)
from ._table import Table, Write

__all__ = ["RUNNING", "Pending", "Store", "now_seconds"]

RUNNING = ExecutionStatus.RUNNING.value


def now_seconds() -> float:
    """Return real time as epoch seconds: what leases are measured in, in every process."""
    return datetime.now(UTC).timestamp()


@attrs.frozen(kw_only=True)
class Pending:
    """What a function woken by a doorbell finds waiting for it, when it cannot claim it.

    Attributes:
        ready_in: Seconds until the work is ready (a task's back-off, a timer's due
            time); 0 when it is ready now.
        held_for: Seconds until another owner's claim lapses; 0 when nobody holds it.
    """

    ready_in: float = 0.0
    held_for: float = 0.0


def held_for(item: Mapping[str, Any]) -> float:
    """Return the seconds until the claim on ``item`` lapses (0 when nobody holds it)."""
    if "until" not in item:
        return 0.0
    return max(0.0, float(item["until"]["N"]) - now_seconds())


def record_key(execution_id: str) -> Item:
    """Return the key of an execution's record item."""
    return {"pk": s(execution_pk(execution_id)), "sk": s("R")}


class Store:
    """The table, its payloads and doorbells, and the items several parts write."""

    def __init__(self, clients: Clients, config: AwsBackendConfig) -> None:
        self.clients = clients
        self.config = config
        self.table = Table(clients, config.table)
        self.payloads = Payloads(clients, config.bucket)
        self.doorbells = Doorbells(clients, config)
        # Set by the commit module: applies the remainder of a step split over
        # several transactions (a reader that finds one finishes it).
        self.finish_split: Callable[[str, str], Awaitable[None]] | None = None

    # --- index partitions -------------------------------------------------------------

    def listing(self, partition: str, execution_id: str) -> str:
        """Return the listing index partition (``all``, ``w#<workflow>``...) of an execution."""
        return listing_key(partition, shard_of(execution_id, self.config.listing_shards))

    def inbox(self, execution_id: str) -> str:
        """Return the inbox index partition of an execution with messages waiting."""
        return inbox_key(shard_of(execution_id, self.config.inbox_shards))

    def outbox(self, execution_id: str) -> str:
        """Return the outbox index partition of the events an execution published."""
        return outbox_key(shard_of(execution_id, self.config.outbox_shards))

    # --- reading ------------------------------------------------------------------

    async def record_of(self, item: Mapping[str, Any]) -> ExecutionRecord:
        """Return the record an execution's ``R`` item holds."""
        return load_record(await self.payloads.get(item, "rec"))

    async def event_of(self, item: Mapping[str, Any]) -> HistoryEvent:
        """Return the history event an ``H#``/``M#`` item holds."""
        return load_event(await self.payloads.get(item, "ev"))

    async def messages(self, execution_id: str) -> list[InboundMessage]:
        """Return an execution's queued messages in arrival order."""
        items = [
            item
            async for item in self.table.query(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
                ExpressionAttributeValues={":pk": s(execution_pk(execution_id)), ":m": s("M#")},
                ConsistentRead=True,
            )
        ]
        items.sort(key=lambda item: (item["at"]["S"], item["sk"]["S"]))
        events = await asyncio.gather(*(self.event_of(item) for item in items))
        return [
            InboundMessage(id=item["sk"]["S"][2:], execution_id=execution_id, event=event)
            for item, event in zip(items, events, strict=True)
        ]

    async def batch_of(self, record_item: Mapping[str, Any]) -> InboundBatch | None:
        """Return the claimed execution's messages as a batch, or None (and unclaim) if none.

        The claim was taken by a conditional update that returned ``record_item``.
        A step that was split over several transactions is finished first.
        """
        execution_id = record_item["pk"]["S"][2:]
        if "rest" in record_item and self.finish_split is not None:
            await self.finish_split(execution_id, record_item["rest"]["S"])
        lease = record_item["lease"]["S"]
        mseq = record_item["mseq"]
        while True:
            messages = await self.messages(execution_id)
            if messages:
                return InboundBatch(
                    execution_id=execution_id, messages=tuple(messages), lease=lease
                )
            # Nothing waits: leave the inbox and give up the claim, unless a
            # message arrived meanwhile (mseq moved).
            left = await self.table.update(
                Key=record_key(execution_id),
                UpdateExpression="REMOVE gsi2pk, gsi2sk, #owner, #lease, #until",
                ConditionExpression="mseq = :mseq AND #lease = :lease",
                ExpressionAttributeNames={"#owner": "owner", "#lease": "lease", "#until": "until"},
                ExpressionAttributeValues={":mseq": mseq, ":lease": s(lease)},
            )
            if left is not None:
                return None
            # The claim stays ours, and the message that moved mseq is ours to take:
            # returning None here would leave the execution held until the claim
            # lapsed, with the new message's doorbell held back as long.
            current = await self.table.get(record_key(execution_id))
            if current is None or current.get("lease", {}).get("S") != lease:
                return None
            mseq = current["mseq"]

    # --- writing --------------------------------------------------------------------

    async def message_put(self, message: InboundMessage, group: str | None = None) -> Write:
        """Return the write that queues ``message`` unless its id is queued already."""
        item: Item = {
            "pk": s(execution_pk(message.execution_id)),
            "sk": s(f"M#{message.id}"),
            "at": s(stamp()),
        }
        await self.payloads.put(item, "ev", dump_event(message.event))
        op = {
            "Put": {
                "TableName": self.table.name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        return Write(op=op, on_fail="skip", group=group)

    def inbox_update(self, execution_id: str, count: int, claim: Mapping[str, Any] | None) -> Write:
        """Return the write that puts a running execution in the inbox after ``count`` messages.

        With ``claim`` (owner, lease, until, now) the same write claims the
        execution when nobody holds it; its failed condition then raises.
        """
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":inbox": s(self.inbox(execution_id)),
            ":at": s(stamp()),
            ":zero": n(0),
            ":count": n(count),
            ":running": s(RUNNING),
        }
        expression = (
            "SET gsi2pk = :inbox, gsi2sk = if_not_exists(gsi2sk, :at), "
            "mseq = if_not_exists(mseq, :zero) + :count"
        )
        condition = "#status = :running"
        if claim is not None:
            names |= {"#owner": "owner", "#lease": "lease", "#until": "until"}
            expression += ", #owner = :owner, #lease = :lease, #until = :until"
            condition += " AND (attribute_not_exists(#until) OR #until < :now)"
            values |= {
                ":owner": s(claim["owner"]),
                ":lease": s(claim["lease"]),
                ":until": n(claim["until"]),
                ":now": n(claim["now"]),
            }
        op = {
            "Update": {
                "TableName": self.table.name,
                "Key": record_key(execution_id),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        if claim is not None:
            return Write(op=op, on_fail="raise")
        return Write(op=op, on_fail="group", group=execution_id)

    async def timer_put(self, timer: TimerRequest) -> Write:
        """Return the write that schedules ``timer``, replacing one with its id (and its claim)."""
        # A stable hash (``hash()`` differs between processes).
        shard = shard_of(timer.id, self.config.timer_shards)
        item: Item = {
            **timer_key(timer.id),
            "gsi1pk": s(f"timers#{shard}"),
            "gsi1sk": s(f"{sortable(timer.due)}#{timer.id}"),
            "timer": s(dump_timer(timer)),
        }
        return Write(op={"Put": {"TableName": self.table.name, "Item": item}})

    def timer_delete(self, timer_id: str) -> Write:
        """Return the write that forgets a timer."""
        return Write(op={"Delete": {"TableName": self.table.name, "Key": timer_key(timer_id)}})

    async def creation(
        self,
        record: ExecutionRecord,
        started: WorkflowStarted,
        extra_messages: int = 0,
        bells: Sequence[Bell] = (),
    ) -> tuple[list[Write], str]:
        """Return the writes that create an execution (record first) and its start message id.

        The record's put is conditional on the execution not existing; its
        failure raises. ``extra_messages`` counts messages queued for it in the
        same write.
        """
        order = stamp()
        listed = s(listing_sk(order, record.id))
        pk = s(execution_pk(record.id))
        rec: Item = {
            "pk": pk,
            "sk": s("R"),
            "len": n(1),
            "status": s(record.status.value),
            "workflow": s(record.workflow),
            "order": s(order),
            "gsi1pk": s(self.listing(f"w#{record.workflow}", record.id)),
            "gsi1sk": listed,
            "gsi2pk": s(self.inbox(record.id)),
            "gsi2sk": s(order),
            "mseq": n(1 + extra_messages),
        }
        await self.payloads.put(rec, "rec", dump_record(record))
        if bells:
            rec["bells"] = s(self.bells_json(bells))
        status = self.status_item(record, order)
        first: Item = {
            "pk": pk,
            "sk": s(history_sk(0)),
            "gsi1pk": s(self.listing("all", record.id)),
            "gsi1sk": listed,
        }
        await self.payloads.put(first, "ev", dump_event(started))
        start_id = f"{record.id}|start"
        message: Item = {"pk": pk, "sk": s(f"M#{start_id}"), "at": s(order)}
        for name in ("ev", "ev_ref"):
            if name in first:
                message[name] = first[name]
        table = self.table.name
        writes = [
            Write(
                op={
                    "Put": {
                        "TableName": table,
                        "Item": rec,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            ),
            Write(op={"Put": {"TableName": table, "Item": status}}),
            Write(op={"Put": {"TableName": table, "Item": first}}),
            Write(op={"Put": {"TableName": table, "Item": message}}),
        ]
        return writes, start_id

    def status_item(self, record: ExecutionRecord, order: str) -> Item:
        """Return the item that lists an execution under its status."""
        status = record.status.value
        listed = s(listing_sk(order, record.id))
        return {
            "pk": s(execution_pk(record.id)),
            "sk": s("S"),
            "gsi1pk": s(self.listing(f"ws#{record.workflow}#{status}", record.id)),
            "gsi1sk": listed,
            "gsi2pk": s(self.listing(f"s#{status}", record.id)),
            "gsi2sk": listed,
        }

    async def ring(self, bells: Sequence[Bell]) -> None:
        """Ring doorbells after a write (never raises)."""
        await self.doorbells.ring(bells, datetime.now(UTC))

    @staticmethod
    def bells_json(bells: Sequence[Bell]) -> str:
        """Return bells as JSON kept on the record until the next commit."""
        return json.dumps([bell.to_json() for bell in bells], separators=(",", ":"))
