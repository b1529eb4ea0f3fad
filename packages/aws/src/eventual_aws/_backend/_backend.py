"""``AwsBackend``: every backend protocol on one DynamoDB table, with S3, SQS and Scheduler."""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Sequence
from contextlib import aclosing
from types import TracebackType
from typing import Any

import boto3
from botocore.exceptions import ClientError

from eventual.history import PublishedEvent

from .._plan._build import TABLE
from ._clients import Clients
from ._config import AwsBackendConfig
from ._doorbells import Bell
from ._executions import Executions
from ._idempotency import Idempotency
from ._items import execution_pk, load_published, outbox_key, s
from ._logs import DynamoLogs
from ._queue import Queue
from ._store import Store
from ._table import merged
from ._tasks import Tasks
from ._timers import Timers

__all__ = ["AwsBackend"]


class AwsBackend:
    """The engine's backend on AWS: DynamoDB holds the truth, queues ring the doorbell.

    Args:
        config: The resources to use (``AwsBackendConfig.from_environment()`` in a
            function the plan configured).
        session: The boto3 session to create clients from; the default chain otherwise.
    """

    def __init__(self, config: AwsBackendConfig, *, session: boto3.Session | None = None) -> None:
        self.config = config
        self._clients = Clients(config, session)
        self._store = Store(self._clients, config)
        self._executions = Executions(self._store)
        self._queue = Queue(self._store)
        self._timers = Timers(self._store)
        self._tasks = Tasks(self._store)
        self._idempotency = Idempotency(self._store)
        self._logs = DynamoLogs(self._store.table)

    @property
    def executions(self) -> Executions:
        """Execution records and histories."""
        return self._executions

    @property
    def queue(self) -> Queue:
        """Inbound messages per execution."""
        return self._queue

    @property
    def timers(self) -> Timers:
        """Durable timers."""
        return self._timers

    @property
    def tasks(self) -> Tasks:
        """Task attempts."""
        return self._tasks

    @property
    def idempotency(self) -> Idempotency:
        """Answers kept under idempotency keys."""
        return self._idempotency

    @property
    def logs(self) -> DynamoLogs:
        """Log lines kept per execution (``LogStore``)."""
        return self._logs

    @property
    def clients(self) -> Clients:
        """The boto3 clients, their threads and request counts (an event bus may share them)."""
        return self._clients

    async def ring(self, bells: Sequence[Bell]) -> None:
        """Ring doorbells (never raises: a ring that still fails after retries is logged)."""
        await self._store.ring(bells)

    @property
    def requests(self) -> Counter[str]:
        """AWS requests sent so far, by ``"service.Operation"`` (retries count again)."""
        return self._clients.requests

    @property
    def bytes_written(self) -> Counter[str]:
        """Request body bytes of write operations, by ``"service.Operation"``."""
        return self._clients.bytes_written

    async def open(self) -> AwsBackend:
        """Return the backend: the resources exist already (the plan created them)."""
        return self

    async def __aenter__(self) -> AwsBackend:
        return await self.open()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the clients and their threads."""
        self._clients.close()

    async def create_resources(self) -> None:
        """Create the table and the bucket when missing, as the plan describes them.

        For a local endpoint (tests, the simulator); on AWS the deploy creates them.
        """
        clients = self._clients
        try:
            await clients.call(clients.s3.create_bucket, Bucket=self.config.bucket)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in (
                "BucketAlreadyOwnedByYou",
                "BucketAlreadyExists",
            ):
                raise
        try:
            await clients.call(clients.dynamodb.create_table, **table_definition(self.config.table))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise
        waiter = clients.dynamodb.get_waiter("table_exists")
        await clients.call(waiter.wait, TableName=self.config.table, WaiterConfig={"Delay": 1})

    async def published(self, limit: int) -> builtins.list[tuple[str, PublishedEvent]]:
        """Return up to ``limit`` published events, oldest first: a query of ``gsi2`` per shard.

        Every one of the ``outbox_shards`` partitions is read (at most ``limit``
        items each, page by page as the merge takes them) and the reads are merged
        by commit stamp, so a relay sees what any step left, whichever shard holds it.
        """
        found: builtins.list[tuple[str, PublishedEvent]] = []
        if limit <= 0:
            return found
        shards = [
            self._store.table.query(
                limit=limit,
                IndexName="gsi2",
                KeyConditionExpression="gsi2pk = :outbox",
                ExpressionAttributeValues={":outbox": s(outbox_key(shard))},
            )
            for shard in range(self.config.outbox_shards)
        ]
        async with aclosing(merged(shards, "gsi2sk")) as outbox:
            async for item in outbox:
                event = load_published(await self._store.payloads.get(item, "pub"))
                found.append((f"{item['pk']['S'][2:]}|{item['sk']['S'][2:]}", event))
                if len(found) >= limit:
                    break
        return found

    async def ack_published(self, ids: Sequence[str]) -> None:
        """Delete delivered events from the outbox (unknown ids are ignored)."""
        keys: dict[tuple[str, str], dict[str, Any]] = {}
        for id_ in ids:
            execution_id, _, order = id_.rpartition("|")
            if execution_id and order.isdigit():
                pk, sk = execution_pk(execution_id), f"P#{order}"
                keys[(pk, sk)] = {"pk": s(pk), "sk": s(sk)}
        await self._store.table.batch_write(
            [{"DeleteRequest": {"Key": key}} for key in keys.values()]
        )


def table_definition(name: str) -> dict[str, Any]:
    """Return ``CreateTable`` arguments for the plan's table (docs/aws.md, item layout)."""
    keys = [TABLE.partition_key, TABLE.sort_key]
    for index in TABLE.indexes:
        keys += [index.partition_key, index.sort_key]
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k in keys],
        "KeySchema": [
            {"AttributeName": TABLE.partition_key, "KeyType": "HASH"},
            {"AttributeName": TABLE.sort_key, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in TABLE.indexes
        ],
    }
