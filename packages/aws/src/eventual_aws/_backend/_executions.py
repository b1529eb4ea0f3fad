"""``ExecutionStore`` on DynamoDB: create, read, list and history (commits: ``_commit``)."""

from __future__ import annotations

import asyncio
import builtins
import json
from collections.abc import Sequence
from contextlib import aclosing
from typing import Any

from eventual.history import ExecutionRecord, HistoryEvent, WorkflowStarted
from eventual.spi import (
    ExecutionFilter,
    ExecutionPage,
    StepCommit,
    TimerRequest,
    start_message_id,
)

from ._commit import Committer
from ._doorbells import Bell
from ._items import execution_pk, history_sk, listing_key, s
from ._store import Store, record_key
from ._table import Cancelled, merged

__all__ = ["Executions"]


class Executions:
    """Execution records and histories in the table (``ExecutionStore``)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table
        self._committer = Committer(store)

    async def create(
        self, record: ExecutionRecord, started: WorkflowStarted, timers: Sequence[TimerRequest]
    ) -> ExecutionRecord:
        """Create the execution (record, listing, first event, start message, timers) if new.

        One transaction; the record's put is conditional on the id being free.
        """
        bells = [Bell(kind="workflow", target=record.id, id=start_message_id(record.id))]
        bells += [Bell(kind="timer", target=t.execution_id, id=t.id, due=t.due) for t in timers]
        writes, _ = await self._store.creation(record, started, bells=bells)
        writes += [await self._store.timer_put(timer) for timer in timers]
        try:
            await self._table.transact(writes)
        except Cancelled:
            existing = await self.get(record.id)
            if existing is None:  # deleted in between: a retry writes it
                return await self.create(record, started, timers)
            return existing
        await self._store.ring(bells)
        return record

    async def get(self, execution_id: str) -> ExecutionRecord | None:
        """Return the record (one consistent ``GetItem``), or None."""
        item = await self._table.get(record_key(execution_id))
        return None if item is None else await self._store.record_of(item)

    async def list(self, query: ExecutionFilter) -> ExecutionPage:
        """Return matching executions newest first: a query per shard and one batch read.

        The index is chosen by the filter: ``gsi1`` by workflow (``L#w#``), by
        workflow and status (``L#ws#``) or all (``L#all``); ``gsi2`` by status
        (``L#s#``). Each of the ``listing_shards`` partitions is read backwards,
        at most one item more than the page, and the reads are merged newest
        first. The cursor is an execution id whose listing key (creation stamp,
        then id) bounds every shard's query; an unknown one lists from the newest.
        """
        if query.workflow is not None and query.status is not None:
            index, key = "gsi1", f"ws#{query.workflow}#{query.status.value}"
        elif query.workflow is not None:
            index, key = "gsi1", f"w#{query.workflow}"
        elif query.status is not None:
            index, key = "gsi2", f"s#{query.status.value}"
        else:
            index, key = "gsi1", "all"
        if query.limit <= 0:
            return ExecutionPage(executions=(), next=None)
        condition = f"{index}pk = :key"
        bound: dict[str, Any] = {}
        if query.after is not None:
            cursor = await self._table.get(record_key(query.after))
            if cursor is not None:
                condition += f" AND {index}sk < :after"
                # The record's listing key; a record written before keys held the
                # id has the bare stamp (its ``order``).
                bound[":after"] = cursor.get("gsi1sk", cursor["order"])
        shards = [
            self._table.query(
                limit=query.limit + 1,
                IndexName=index,
                KeyConditionExpression=condition,
                ExpressionAttributeValues={":key": s(listing_key(key, shard)), **bound},
                ScanIndexForward=False,
            )
            for shard in range(self._store.config.listing_shards)
        ]
        ids: builtins.list[str] = []
        async with aclosing(merged(shards, f"{index}sk", newest_first=True)) as listed:
            async for item in listed:
                ids.append(item["pk"]["S"][2:])
                if len(ids) > query.limit:
                    break
        page_ids = ids[: query.limit]
        items = await self._table.batch_get([record_key(id_) for id_ in page_ids])
        by_id = {item["pk"]["S"][2:]: item for item in items}
        found = [by_id[id_] for id_ in page_ids if id_ in by_id]
        records = await asyncio.gather(*(self._store.record_of(item) for item in found))
        more = len(ids) > query.limit
        return ExecutionPage(
            executions=tuple(records), next=records[-1].id if more and records else None
        )

    async def history(self, execution_id: str, after: int = 0) -> builtins.list[HistoryEvent]:
        """Return the history from position ``after`` on, oldest first: one query.

        The query reads the history items past ``after`` and the record together
        (a long-poll reads only the events it has not seen); a record
        that shows a step still being written over several transactions has
        that step finished first.
        """
        for _ in range(3):
            items = [
                item
                async for item in self._table.query(
                    KeyConditionExpression="pk = :pk AND sk BETWEEN :from AND :r",
                    FilterExpression="begins_with(sk, :h) OR sk = :r",
                    ExpressionAttributeValues={
                        ":pk": s(execution_pk(execution_id)),
                        ":from": s(history_sk(max(after, 0))),
                        ":h": s("H#"),
                        ":r": s("R"),
                    },
                    ConsistentRead=True,
                )
            ]
            record = next((item for item in items if item["sk"]["S"] == "R"), None)
            if record is not None and "rest" in record:
                await self._committer.finish_split(execution_id, record["rest"]["S"])
                continue
            events = [item for item in items if item["sk"]["S"].startswith("H#")]
            return list(await asyncio.gather(*(self._store.event_of(item) for item in events)))
        raise RuntimeError(f"the history of {execution_id!r} kept changing while read")

    async def ring_again(self, execution_id: str) -> int:
        """Ring again the doorbells of the execution's last write; return how many.

        A function that finds nothing to claim for a redelivered message calls it:
        if the process that committed died before ringing, this rings for it.
        """
        item = await self._table.get(record_key(execution_id))
        if item is None or "bells" not in item:
            return 0
        bells = [Bell.from_json(entry) for entry in json.loads(item["bells"]["S"])]
        await self._store.ring(bells)
        return len(bells)

    async def commit(self, step: StepCommit) -> None:
        """Apply one step atomically (see ``Committer.commit``)."""
        await self._committer.commit(step)
