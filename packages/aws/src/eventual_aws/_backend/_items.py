"""The table's item layout: keys, index attributes, values, and payloads kept in S3.

One table holds everything (docs/aws.md, "Item layout"). An execution's items
share its partition, ``X#<execution id>``: the record (``R``), its listing
status (``S``), history events (``H#<position>``), inbound messages
(``M#<message id>``) and published events waiting for the bus (``P#<stamp>``).
Timers (``T#<timer id>``) and task attempts (``K#<token>``) have partitions of
their own, because they are claimed one by one, by whoever is woken for them.

Values are JSON text written by the codec. A value longer than
:data:`INLINE_LIMIT` goes to S3 under its SHA-256 (written once, whoever writes
it again), and the item keeps the key: 100 such items still fit one 4 MB
transaction, and no item comes near DynamoDB's 400 KB.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from eventual.spi import (
    dump_event,
    dump_json,
    dump_published,
    dump_record,
    dump_task,
    dump_timer,
    from_micros,
    load_event,
    load_published,
    load_record,
    load_task,
    load_timer,
    micros,
)

from ._clients import Clients

__all__ = [
    "ALL",
    "EARLIEST",
    "INBOX",
    "INLINE_LIMIT",
    "OUTBOX",
    "TASKS",
    "Item",
    "Payloads",
    "dump_json",
    "from_micros",
    "history_sk",
    "inbox_key",
    "listing_key",
    "listing_sk",
    "outbox_key",
    "shard_of",
    "task_partition",
    "micros",
    "n",
    "s",
    "sortable",
    "stamp",
    "execution_pk",
    "task_key",
    "timer_key",
    "load_event",
    "load_published",
    "load_record",
    "load_task",
    "load_timer",
    "dump_event",
    "dump_published",
    "dump_record",
    "dump_task",
    "dump_timer",
]

Item = dict[str, Any]
"""A DynamoDB item in the low-level client's form (``{"pk": {"S": "..."}}``)."""

INLINE_LIMIT: Final = 32 * 1024
"""Longest JSON value (bytes) kept in an item; longer ones go to S3."""

INBOX: Final = "inbox"
"""``gsi2pk`` of execution records with messages waiting (sorted by first arrival)."""
OUTBOX: Final = "outbox"
"""``gsi2pk`` of published events waiting for the bus (sorted by commit)."""
TASKS: Final = "tasks"
"""``gsi1pk`` of task attempts (sorted by dispatch order)."""
ALL: Final = "L#all"
"""``gsi1pk`` of every execution's first history event (the unfiltered listing)."""

EARLIEST: Final = datetime.min.replace(tzinfo=UTC)
_OFFSET: Final = 10**17  # makes every microsecond value since year 1 positive


def s(value: str) -> dict[str, str]:
    """Return a string attribute value."""
    return {"S": value}


def n(value: int | float) -> dict[str, str]:
    """Return a number attribute value."""
    return {"N": repr(value)}


def sortable(when: datetime) -> str:
    """Return ``when`` as fixed-width digits that sort like the times."""
    return f"{micros(when) + _OFFSET:019d}"


_stamp_lock = threading.Lock()
_last_stamp = 0
_stamp_counter = itertools.count()


def stamp() -> str:
    """Return a fixed-width, increasing stamp: wall-clock nanoseconds, never repeated here.

    Stamps order executions in listings, messages in arrival order, tasks in
    dispatch order and published events; across processes they are as ordered
    as the clocks are.
    """
    global _last_stamp
    with _stamp_lock:
        _last_stamp = max(time.time_ns(), _last_stamp + 1)
        return f"{_last_stamp:020d}"


def shard_of(key: str, shards: int) -> int:
    """Return the shard of ``key`` among ``shards``: its CRC-32, the same in every process."""
    return zlib.crc32(key.encode()) % shards


def listing_key(partition: str, shard: int) -> str:
    """Return the index partition of listing ``partition`` (``all``, ``w#<workflow>``, ...).

    Shard 0 keeps the unsharded name ``L#<partition>``, so a table written with
    one shard reads the same with more; shard ``k`` is ``L<k>#<partition>``.
    """
    return f"L#{partition}" if shard == 0 else f"L{shard}#{partition}"


def listing_sk(order: str, execution_id: str) -> str:
    """Return the sort key of an execution in the listings: its creation stamp, then its id.

    The id makes every key unique, so listings and their cursors have one
    order, whichever shards hold the items and whenever two stamps tie.
    """
    return f"{order}#{execution_id}"


def task_partition(shard: int) -> str:
    """Return the index partition of task attempts in ``shard`` (shard 0 is ``tasks``)."""
    return TASKS if shard == 0 else f"{TASKS}#{shard}"


def inbox_key(shard: int) -> str:
    """Return the index partition of executions with messages in ``shard`` (0 is ``inbox``)."""
    return INBOX if shard == 0 else f"{INBOX}#{shard}"


def outbox_key(shard: int) -> str:
    """Return the index partition of published events in ``shard`` (0 is ``outbox``)."""
    return OUTBOX if shard == 0 else f"{OUTBOX}#{shard}"


def execution_pk(execution_id: str) -> str:
    """Return the partition key of an execution's items."""
    return f"X#{execution_id}"


def history_sk(position: int) -> str:
    """Return the sort key of the history event at ``position``."""
    return f"H#{position:010d}"


def timer_key(timer_id: str) -> Item:
    """Return the key of a timer's item."""
    return {"pk": s(f"T#{timer_id}"), "sk": s("T")}


def task_key(token: str) -> Item:
    """Return the key of a task attempt's item."""
    return {"pk": s(f"K#{token}"), "sk": s("K")}


class Payloads:
    """JSON values in items, or in S3 by reference when they are too long for one."""

    def __init__(self, clients: Clients, bucket: str) -> None:
        self._clients = clients
        self._bucket = bucket

    async def put(self, item: Item, name: str, text: str) -> None:
        """Set attribute ``name`` of ``item`` to ``text``, or to its S3 key (``<name>_ref``)."""
        data = text.encode()
        if len(data) <= INLINE_LIMIT:
            item[name] = s(text)
            return
        key = f"blobs/{hashlib.sha256(data).hexdigest()}.json"
        await self._clients.call(
            self._clients.s3.put_object,
            Bucket=self._bucket,
            Key=key,
            Body=data,
            ContentType="application/json",
        )
        item[f"{name}_ref"] = s(key)

    async def get(self, item: Mapping[str, Any], name: str) -> str:
        """Return the text of attribute ``name``, reading S3 when the item keeps a reference."""
        value = item.get(name)
        if value is not None:
            return str(value["S"])
        key = str(item[f"{name}_ref"]["S"])
        return await self._clients.call(self._read, key=key)

    def _read(self, *, key: str) -> str:
        # Runs on a backend thread: the body is read from the network too.
        body = self._clients.s3.get_object(Bucket=self._bucket, Key=key)["Body"]
        try:
            return body.read().decode()
        finally:
            body.close()
