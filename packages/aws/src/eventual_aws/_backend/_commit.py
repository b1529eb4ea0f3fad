"""``ExecutionStore.commit`` on DynamoDB: one step, conditionally, in one transaction or a few.

A step is written as ``TransactWriteItems``: the record's update, conditional
on the history length the step was computed from and on the claim's lease; one
item per new history event (conditional on its position being free); and the
outbox: consumed messages and finished attempts deleted, task attempts, timers,
messages, child executions and published events put. A duplicate message or
task (conditional put) is left out and the rest written again, as are messages
for an execution that has ended (its record's update fails its condition).

A step of more than 100 items (or 3.5 MB) is split: the record's update and as
many items as fit commit first, conditionally, and name (``rest``) an S3 object
holding the remaining writes, all idempotent; those are written next, and the
name is removed. A reader that finds ``rest`` (a claim, a history read) writes
the remainder itself, and every later commit is conditional on ``rest`` being
gone, so a crash in between delays the step's effects but never loses them.
The S3 object stays (functions may read and write objects, not delete them);
it is small, rare, and the plan's lifecycle rule expires ``steps/`` after every
doorbell that could still apply it is gone (docs/aws.md, "Orphans").
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

from eventual import ExecutionStatus
from eventual.history import PublishedEvent
from eventual.spi import Conflict, InboundMessage, StepCommit, TaskRequest
from eventual_engine import clash_message

from ._doorbells import Bell
from ._items import (
    EARLIEST,
    Item,
    dump_event,
    dump_published,
    dump_record,
    dump_task,
    execution_pk,
    history_sk,
    micros,
    n,
    s,
    shard_of,
    stamp,
    task_key,
    task_partition,
)
from ._store import RUNNING, Store, now_seconds, record_key
from ._table import MAX_TRANSACTION_BYTES, MAX_TRANSACTION_ITEMS, Cancelled, Write

__all__ = ["Committer", "task_item"]

_BELLS_LIMIT = 16 * 1024


async def task_item(
    store: Store, task: TaskRequest, claim: tuple[str, str, float] | None = None
) -> Item:
    """Return the item of a task attempt, claimed as ``(owner, lease, until)`` when given."""
    item: Item = {
        **task_key(task.token),
        "gsi1pk": s(task_partition(shard_of(task.token, store.config.task_shards))),
        "gsi1sk": s(stamp()),
        "nb": n(micros(task.not_before or EARLIEST)),
    }
    await store.payloads.put(item, "req", dump_task(task))
    if claim is not None:
        item |= {"owner": s(claim[0]), "lease": s(claim[1]), "until": n(claim[2])}
    return item


def _key_of(write: Write) -> tuple[str, str]:
    body = next(iter(write.op.values()))
    key = body.get("Key") or body["Item"]
    return key["pk"]["S"], key["sk"]["S"]


class Committer:
    """Writes steps, splitting those too large for one transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table = store.table
        store.finish_split = self.finish_split

    async def commit(self, step: StepCommit) -> None:
        """Apply one step atomically, or raise ``Conflict`` having written nothing.

        Raises:
            Conflict: The history is not ``expected_length`` long, the lease is
                not the current claim's, or the execution does not exist.
        """
        store = self._store
        execution_id = step.execution_id
        running = step.record.status is ExecutionStatus.RUNNING
        bells: list[Bell] = []
        children: list[Write] = []
        created: set[str] = set()
        messages: list[InboundMessage] = list(step.messages)
        if step.starts:
            keys = [record_key(record.id) for record, _ in step.starts]
            found = {i["pk"]["S"][2:]: i for i in await self._table.batch_get(keys)}
            for record, started in step.starts:
                item = found.get(record.id)
                if item is None and record.id not in created:
                    extra = sum(1 for m in step.messages if m.execution_id == record.id)
                    writes, start_id = await store.creation(record, started, extra)
                    children += writes
                    created.add(record.id)
                    bells.append(Bell(kind="workflow", target=record.id, id=start_id))
                elif item is not None:
                    stored = await store.record_of(item)
                    clash = clash_message(stored, started)
                    if stored.input_digest != record.input_digest and clash is not None:
                        messages.append(clash)

        others: list[Write] = []
        own_messages = 0
        targets: Counter[str] = Counter()
        for message in messages:
            target = message.execution_id
            if target == execution_id and not running:
                continue  # an ended execution's messages are discarded
            if target == execution_id or target in created:
                others.append(await store.message_put(message))
                own_messages += target == execution_id
            else:
                others.append(await store.message_put(message, group=target))
                targets[target] += 1
            bells.append(Bell(kind="workflow", target=target, id=message.id))
        others += [store.inbox_update(target, count, None) for target, count in targets.items()]

        claim = None
        if step.task_claim is not None:
            until = now_seconds() + step.task_claim.duration.total_seconds()
            claim = (step.task_claim.owner, f"{step.task_claim.owner}:{uuid.uuid4()}", until)
        table = self._table.name
        for task in step.tasks:
            item = await task_item(store, task, claim)
            put = {
                "TableName": table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
            others.append(Write(op={"Put": put}, on_fail="skip"))
            if claim is None:
                bells.append(
                    Bell(kind="task", target=task.task, id=task.token, due=task.not_before)
                )
        for token in step.finished:
            others.append(Write(op={"Delete": {"TableName": table, "Key": task_key(token)}}))
        scheduled = {timer.id for timer in step.timers}
        others += [store.timer_delete(t) for t in step.cancel_timers if t not in scheduled]
        for timer in step.timers:
            others.append(await store.timer_put(timer))
            bells.append(Bell(kind="timer", target=timer.execution_id, id=timer.id, due=timer.due))
        pk = s(execution_pk(execution_id))
        for message_id in step.consumed:
            key = {"pk": pk, "sk": s(f"M#{message_id}")}
            others.append(Write(op={"Delete": {"TableName": table, "Key": key}}))
        others += [await self._published(execution_id, event) for event in step.published]

        history: list[Write] = []
        for position, event in enumerate(step.events, start=step.expected_length):
            item = {"pk": pk, "sk": s(history_sk(position))}
            await store.payloads.put(item, "ev", dump_event(event))
            cond = "attribute_not_exists(pk)"
            history.append(
                Write(op={"Put": {"TableName": table, "Item": item, "ConditionExpression": cond}})
            )
        if not running:
            history.insert(0, self._relist(step))

        # Later writes to one item win (a timer cancelled and scheduled again).
        unique: dict[tuple[str, str], Write] = {}
        for write in [*history, *children, *others]:
            unique[_key_of(write)] = write
        rest_key = None
        writes = list(unique.values())
        update = await self._record_update(step, own_messages, bells, None)
        if (
            len(writes) + 1 > MAX_TRANSACTION_ITEMS
            or update.size() + sum(w.size() for w in writes) > MAX_TRANSACTION_BYTES
        ):
            rest_key = f"steps/{execution_id}/{step.expected_length}-{uuid.uuid4().hex}.json"
            update = await self._record_update(step, own_messages, bells, rest_key)
        core, rest = self._split([update, *writes])
        if rest:
            assert rest_key is not None
            await self._save_rest(rest_key, rest)
        try:
            await self._table.transact(core)
        except Cancelled as error:
            raise Conflict(f"{execution_id}: the history changed or the lease was lost") from error
        if rest_key is not None:
            await self._apply_rest(execution_id, rest_key, rest)
        await store.ring(bells)

    def _relist(self, step: StepCommit) -> Write:
        """Return the write that lists an ended execution under its new status."""
        status = step.record.status.value
        update = {
            "TableName": self._table.name,
            "Key": {"pk": s(execution_pk(step.execution_id)), "sk": s("S")},
            "UpdateExpression": "SET gsi1pk = :by_workflow, gsi2pk = :by_status",
            "ExpressionAttributeValues": {
                ":by_workflow": s(
                    self._store.listing(f"ws#{step.record.workflow}#{status}", step.execution_id)
                ),
                ":by_status": s(self._store.listing(f"s#{status}", step.execution_id)),
            },
        }
        return Write(op={"Update": update})

    async def _published(self, execution_id: str, event: PublishedEvent) -> Write:
        order = stamp()
        item: Item = {
            "pk": s(execution_pk(execution_id)),
            "sk": s(f"P#{order}"),
            "gsi2pk": s(self._store.outbox(execution_id)),
            "gsi2sk": s(order),
        }
        await self._store.payloads.put(item, "pub", dump_published(event))
        return Write(op={"Put": {"TableName": self._table.name, "Item": item}})

    async def _record_update(
        self, step: StepCommit, own_messages: int, bells: list[Bell], rest_key: str | None
    ) -> Write:
        names = {"#len": "len", "#status": "status"}
        values: dict[str, Any] = {
            ":expected": n(step.expected_length),
            ":len": n(step.expected_length + len(step.events)),
            ":status": s(step.record.status.value),
        }
        sets = ["#len = :len", "#status = :status"]
        removes: list[str] = []
        payload: Item = {}
        await self._store.payloads.put(payload, "rec", dump_record(step.record))
        for name in ("rec", "rec_ref"):
            if name in payload:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = payload[name]
            else:
                removes.append(name)
        kept = self._store.bells_json(bells)
        if len(kept) <= _BELLS_LIMIT:
            sets.append("bells = :bells")
            values[":bells"] = s(kept)
        condition = "#len = :expected AND attribute_not_exists(rest)"
        if step.lease is not None:
            names |= {"#owner": "owner", "#lease": "lease", "#until": "until"}
            removes += ["#owner", "#lease", "#until"]
            condition += " AND #lease = :lease"
            values[":lease"] = s(step.lease)
        if step.record.status.value != RUNNING:
            removes += ["gsi2pk", "gsi2sk"]
        elif own_messages:
            sets += [
                "gsi2pk = :inbox",
                "gsi2sk = if_not_exists(gsi2sk, :at)",
                "mseq = if_not_exists(mseq, :zero) + :count",
            ]
            values |= {
                ":inbox": s(self._store.inbox(step.execution_id)),
                ":at": s(stamp()),
                ":zero": n(0),
            }
            values[":count"] = n(own_messages)
        if rest_key is not None:
            sets.append("rest = :rest")
            values[":rest"] = s(rest_key)
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        op = {
            "Update": {
                "TableName": self._table.name,
                "Key": record_key(step.execution_id),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        return Write(op=op)

    @staticmethod
    def _split(writes: list[Write]) -> tuple[list[Write], list[Write]]:
        """Return the writes of the first, conditional transaction and the rest."""
        size = 0
        for index, write in enumerate(writes):
            size += write.size()
            if index >= MAX_TRANSACTION_ITEMS or size > MAX_TRANSACTION_BYTES:
                return writes[:index], writes[index:]
        return writes, []

    async def _save_rest(self, key: str, rest: list[Write]) -> None:
        # Written again later, a write must not refuse what it did the first time:
        # conditions stay, but a failed one now means "done already".
        body = [
            {"op": w.op, "on_fail": "skip" if w.on_fail == "raise" else w.on_fail, "group": w.group}
            for w in rest
        ]
        clients = self._store.clients
        await clients.call(
            clients.s3.put_object,
            Bucket=self._store.config.bucket,
            Key=key,
            Body=json.dumps(body).encode(),
            ContentType="application/json",
        )

    async def finish_split(self, execution_id: str, key: str) -> None:
        """Write the remainder of a split step found by a reader, then forget it."""
        text = await self._store.payloads.get({"x_ref": s(key)}, "x")
        rest = [
            Write(op=entry["op"], on_fail=entry["on_fail"], group=entry["group"])
            for entry in json.loads(text)
        ]
        await self._apply_rest(execution_id, key, rest)

    async def _apply_rest(self, execution_id: str, key: str, rest: list[Write]) -> None:
        rest = [
            Write(op=w.op, on_fail="skip", group=w.group) if w.on_fail == "raise" else w
            for w in rest
        ]
        while rest:
            chunk, rest = self._split(rest)
            await self._table.transact(chunk)
        await self._table.update(
            Key=record_key(execution_id),
            UpdateExpression="REMOVE rest",
            ConditionExpression="rest = :rest",
            ExpressionAttributeValues={":rest": s(key)},
        )
