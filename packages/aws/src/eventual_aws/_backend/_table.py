"""DynamoDB calls the backend makes, with their partial failures handled.

``TransactWriteItems`` is how every claim-free commit is written. Its
cancellation says, item by item, why it failed; :func:`Table.transact` reads
those reasons: a failed condition on an item the caller marked ``"skip"`` (a
message or task already there) or ``"group"`` (messages for an execution that
has ended) drops that part and writes the rest again, a write conflict or
throttling is retried, and a failed condition on a ``"raise"`` item (the
record's length and lease) raises :class:`Cancelled` naming it. ``BatchWriteItem``
and ``BatchGetItem`` return what they did not process; it is sent again.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs
from botocore.exceptions import ClientError

from ._clients import Clients
from ._items import Item, dump_json

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "MAX_TRANSACTION_BYTES",
    "MAX_TRANSACTION_ITEMS",
    "Cancelled",
    "Table",
    "Write",
    "merged",
]

MAX_TRANSACTION_ITEMS: Final = 100
MAX_TRANSACTION_BYTES: Final = 3_500_000  # under the 4 MB cap, keys and names included
_RETRYABLE: Final = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)
_ATTEMPTS: Final = 8


@attrs.frozen(kw_only=True)
class Write:
    """One item of a transaction and what its failed condition means.

    Attributes:
        op: The ``TransactWriteItems`` entry (``{"Put": {...}}``, ``{"Update": ...}``, ...).
        on_fail: ``"raise"``: the whole write is refused; ``"skip"``: leave this
            item out; ``"group"``: leave out every item of ``group``.
        group: The items that stand or fall together with a ``"group"`` item.
    """

    op: Mapping[str, Any]
    on_fail: Literal["raise", "skip", "group"] = "raise"
    group: str | None = None

    def size(self) -> int:
        """Return about how many bytes the item counts for in a transaction."""
        return len(dump_json(self.op))


class Cancelled(Exception):
    """A transaction was refused because the condition of a ``"raise"`` item failed."""

    def __init__(self, write: Write, item: Mapping[str, Any] | None) -> None:
        super().__init__(f"condition failed: {write.op}")
        self.write = write
        self.item = item


class Table:
    """One DynamoDB table, reached through the backend's clients."""

    def __init__(self, clients: Clients, name: str) -> None:
        self.clients = clients
        self.name = name

    @property
    def _db(self) -> DynamoDBClient:
        # Read at each call: the client is created on first use, not with the table.
        return self.clients.dynamodb

    async def get(self, key: Item, *, consistent: bool = True) -> Item | None:
        """Return the item with ``key``, or None."""
        answer = await self.clients.call(
            self._db.get_item, TableName=self.name, Key=key, ConsistentRead=consistent
        )
        return answer.get("Item")

    async def update(self, **kwargs: Any) -> Item | None:
        """Run ``UpdateItem``; return the new item, or None when its condition failed."""
        try:
            answer = await self.clients.call(
                self._db.update_item, TableName=self.name, ReturnValues="ALL_NEW", **kwargs
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return answer.get("Attributes", {})

    async def query(self, *, limit: int | None = None, **kwargs: Any) -> AsyncGenerator[Item, None]:
        """Yield the items of a query, page after page."""
        start: Mapping[str, Any] | None = None
        while True:
            options = dict(kwargs)
            if start is not None:
                options["ExclusiveStartKey"] = start
            if limit is not None:
                options["Limit"] = limit
            answer = await self.clients.call(self._db.query, TableName=self.name, **options)
            for item in answer.get("Items", []):
                yield item
            start = answer.get("LastEvaluatedKey")
            if start is None:
                return

    async def count(self, **kwargs: Any) -> int:
        """Return how many items a query matches."""
        total = 0
        start: Mapping[str, Any] | None = None
        while True:
            options = dict(kwargs)
            if start is not None:
                options["ExclusiveStartKey"] = start
            answer = await self.clients.call(
                self._db.query, TableName=self.name, Select="COUNT", **options
            )
            total += answer.get("Count", 0)
            start = answer.get("LastEvaluatedKey")
            if start is None:
                return total

    async def batch_get(self, keys: Sequence[Item]) -> list[Item]:
        """Return the items of ``keys`` that exist (in no particular order)."""
        found: list[Item] = []
        for first in range(0, len(keys), 100):
            pending: Mapping[str, Any] = {
                self.name: {"Keys": list(keys[first : first + 100]), "ConsistentRead": True}
            }
            for attempt in range(_ATTEMPTS):
                answer = await self.clients.call(self._db.batch_get_item, RequestItems=pending)
                found += answer.get("Responses", {}).get(self.name, [])
                pending = answer.get("UnprocessedKeys") or {}
                if not pending:
                    break
                await _backoff(attempt)
            else:
                raise RuntimeError(f"DynamoDB left {len(pending)} reads unprocessed")
        return found

    async def batch_write(self, requests: Sequence[Mapping[str, Any]]) -> None:
        """Write ``PutRequest``/``DeleteRequest`` entries, 25 at a time, until all are done."""
        for first in range(0, len(requests), 25):
            pending: Mapping[str, Any] = {self.name: list(requests[first : first + 25])}
            for attempt in range(_ATTEMPTS):
                answer = await self.clients.call(self._db.batch_write_item, RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
                await _backoff(attempt)
            else:
                raise RuntimeError("DynamoDB left writes unprocessed after retries")

    async def transact(self, writes: Sequence[Write]) -> None:
        """Write ``writes`` in one transaction, dropping the parts whose failed condition allows.

        Raises:
            Cancelled: A ``"raise"`` item's condition failed; nothing was written.
        """
        remaining = list(writes)
        for attempt in range(_ATTEMPTS):
            if not remaining:
                return
            try:
                await self.clients.call(
                    self._db.transact_write_items,
                    TransactItems=[w.op for w in remaining],
                    ClientRequestToken=str(uuid.uuid4()),
                )
                return
            except ClientError as error:
                if _code(error) != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons") or []
            remaining, retry = _after_cancellation(remaining, reasons)
            if retry:
                await _backoff(attempt)
        raise RuntimeError("DynamoDB kept cancelling a transaction for write conflicts")


def _after_cancellation(
    writes: list[Write], reasons: Sequence[Mapping[str, Any]]
) -> tuple[list[Write], bool]:
    """Return the writes to try again and whether to wait first, or raise ``Cancelled``."""
    if len(reasons) != len(writes):
        # Without reasons nothing tells which condition failed: the first that may raise.
        raise Cancelled(writes[0], None)
    dropped: set[int] = set()
    groups: set[str] = set()
    retry = False
    for index, (write, reason) in enumerate(zip(writes, reasons, strict=True)):
        code = reason.get("Code", "None")
        if code == "None":
            continue
        if code == "ConditionalCheckFailed":
            if write.on_fail == "raise":
                raise Cancelled(write, reason.get("Item"))
            dropped.add(index)
            if write.on_fail == "group" and write.group is not None:
                groups.add(write.group)
        elif code in _RETRYABLE:
            retry = True
        else:
            raise RuntimeError(f"DynamoDB refused a transaction item: {code}: {reason}")
    kept = [
        w
        for i, w in enumerate(writes)
        if i not in dropped and (w.group is None or w.group not in groups)
    ]
    return kept, retry


async def _backoff(attempt: int) -> None:
    await asyncio.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


async def merged(
    queries: Sequence[AsyncGenerator[Item, None]], sort_key: str, *, newest_first: bool = False
) -> AsyncGenerator[Item, None]:
    """Yield the items of queries over index shards as one query, in ``sort_key`` order.

    Each query is read only as far as the merged items are taken: its first page
    is asked for at once, a next one when its items are used up. ``newest_first``
    merges queries read backwards (``ScanIndexForward=False``). Closing it
    (``contextlib.aclosing``) closes the queries.
    """
    heads = list(await asyncio.gather(*(anext(query, None) for query in queries)))
    try:
        while True:
            live = [
                (str(head[sort_key]["S"]), index)
                for index, head in enumerate(heads)
                if head is not None
            ]
            if not live:
                return
            _, pick = max(live) if newest_first else min(live)
            head = heads[pick]
            if head is not None:  # always: it is live
                yield head
            heads[pick] = await anext(queries[pick], None)
    finally:
        for query in queries:
            await query.aclose()
