"""``LogStore`` on DynamoDB: an execution's log lines in its own partition, in order.

Items (docs/aws.md, "Item layout"), all in the execution's partition ``X#<id>``:

- ``G``: the counter of positions given so far (``next``);
- ``G#<position, 16 digits>``: one line (``entry``, the JSON of its
  ``LogEntry``), so a ``Query`` from ``G#<after + 1>`` reads a follower's new
  lines in order, consistently;
- ``G#k#<key>``: a marker saying the line with that key is stored, so a step or
  attempt that runs again does not store its lines twice.

Storing a batch costs three requests, whatever its size: a ``BatchGetItem`` of
its markers (lines stored already are left out), one ``UpdateItem`` adding the
number of new lines to the counter (which hands out their positions, so two
functions logging at once never take the same one), and ``BatchWriteItem``s of
lines and markers, 25 items each, unprocessed items sent again. Positions
follow the order lines were stored in, never a clock.

A batch takes its positions before it writes its lines, so for a moment a later
batch's lines can be stored while an earlier one's are not yet: a follower
reading then, and asking next for lines after the last position it saw, would
skip the earlier batch. So reading stops at the first missing position (a
gap) and returns the lines before it; the follower asks again and finds the gap
filled. A gap can also stay for good (a function that took positions and then
timed out or crashed before writing): each line records when it was written
(``at``, milliseconds), and a gap followed by a line written more than
:data:`ABANDONED_AFTER` seconds ago is read past, as abandoned, since every
batch writes its lines right after it took its positions.

Every item carries the table's TTL attribute: lines are kept as long as the
functions' log groups keep theirs (30 days), and the counter as long as its
newest line. A message longer than :data:`MAX_MESSAGE` characters is cut there
(saying how long it was), so a line's item stays far under the 400 KB limit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Final

import attrs

from eventual.codec import decode, encode
from eventual.spi import LogEntry

from ._items import Item, dump_json, execution_pk, n, s
from ._table import Table

__all__ = ["ABANDONED_AFTER", "MAX_MESSAGE", "RETENTION_DAYS", "DynamoLogs"]

MAX_MESSAGE: Final = 16_000
"""Longest message kept whole (characters); a longer one is cut and marked."""
RETENTION_DAYS: Final = 30
"""How long lines are kept: as long as the functions' log groups keep theirs."""
ABANDONED_AFTER: Final = 30.0
"""Seconds after which missing positions followed by a stored line are read past.

Far longer than a batch takes from its ``UpdateItem`` to its last ``BatchWriteItem``
(unprocessed items included), far shorter than a follower would wait unawares.
"""
_COUNTER: Final = "G"
_LAST_POSITION: Final = 10**16 - 1
_LAST: Final = f"G#{_LAST_POSITION:016d}"


def _line_sk(position: int) -> str:
    return f"G#{position:016d}"


def _marker_key(execution_id: str, key: str) -> Item:
    return {"pk": s(execution_pk(execution_id)), "sk": s(f"G#k#{key}")}


def _bounded(entry: LogEntry) -> LogEntry:
    if len(entry.message) <= MAX_MESSAGE:
        return entry
    cut = f"{entry.message[:MAX_MESSAGE]}... (cut: {len(entry.message)} characters)"
    return attrs.evolve(entry, message=cut)


class DynamoLogs:
    """Log entries kept per execution in the backend's table.

    Args:
        table: The backend's table.
        clock: Seconds since the epoch, now (lines record when they were written).
        abandoned_after: Seconds after which a gap in positions is read past.
    """

    def __init__(
        self,
        table: Table,
        *,
        clock: Callable[[], float] = time.time,
        abandoned_after: float = ABANDONED_AFTER,
    ) -> None:
        self._table = table
        self._clock = clock
        self._abandoned_after = abandoned_after

    async def append_logs(self, entries: Sequence[LogEntry]) -> None:
        """Store entries; one whose ``(execution_id, key)`` is stored already is skipped."""
        by_execution: dict[str, dict[str, LogEntry]] = {}
        for entry in entries:
            by_execution.setdefault(entry.execution_id, {}).setdefault(entry.key, entry)
        for execution_id, keyed in by_execution.items():
            await self._append(execution_id, keyed)

    async def _append(self, execution_id: str, keyed: dict[str, LogEntry]) -> None:
        stored = await self._table.batch_get([_marker_key(execution_id, k) for k in keyed])
        for item in stored:
            keyed.pop(str(item["sk"]["S"])[len("G#k#") :], None)
        if not keyed:
            return
        expires = n(int(time.time()) + RETENTION_DAYS * 24 * 3600)
        counter = await self._table.update(
            Key={"pk": s(execution_pk(execution_id)), "sk": s(_COUNTER)},
            UpdateExpression="ADD #next :count SET #ttl = :ttl",
            ExpressionAttributeNames={"#next": "next", "#ttl": "ttl"},
            ExpressionAttributeValues={":count": n(len(keyed)), ":ttl": expires},
        )
        if counter is None:  # an unconditional update always answers
            raise RuntimeError(f"DynamoDB did not count the log lines of {execution_id}")
        first = int(counter["next"]["N"]) - len(keyed) + 1
        written = n(int(self._clock() * 1000))
        puts: list[Item] = []
        for position, (key, entry) in enumerate(keyed.items(), start=first):
            text = dump_json(encode(_bounded(entry), LogEntry))
            puts.append(
                {
                    "pk": s(execution_pk(execution_id)),
                    "sk": s(_line_sk(position)),
                    "entry": s(text),
                    "at": written,
                    "ttl": expires,
                }
            )
            puts.append({**_marker_key(execution_id, key), "ttl": expires})
        await self._table.batch_write([{"PutRequest": {"Item": item}} for item in puts])

    async def read_logs(
        self, execution_id: str, after: int = 0, limit: int = 1000
    ) -> list[LogEntry]:
        """Return the execution's entries with ``position > after``, oldest first.

        Stops before the first missing position that a batch may still fill
        (see the module's docstring).
        """
        found: list[LogEntry] = []
        if limit <= 0 or after >= _LAST_POSITION:
            return found
        expected = max(after, 0) + 1
        settled_before = (self._clock() - self._abandoned_after) * 1000
        async for item in self._table.query(
            limit=limit,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :from AND :last",
            ExpressionAttributeValues={
                ":pk": s(execution_pk(execution_id)),
                ":from": s(_line_sk(max(after, 0) + 1)),
                ":last": s(_LAST),
            },
            ConsistentRead=True,
        ):
            position = int(str(item["sk"]["S"])[len("G#") :])
            # Lines stored before they recorded "at" are old enough to read past any gap.
            if position != expected and float(item.get("at", {"N": "0"})["N"]) > settled_before:
                break
            expected = position + 1
            entry = decode(json.loads(item["entry"]["S"]), LogEntry, path="log")
            found.append(attrs.evolve(entry, position=position))
            if len(found) >= limit:
                break
        return found
