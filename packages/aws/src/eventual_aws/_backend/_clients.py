"""boto3 clients, created on first use once per backend, called off the event loop, and counted.

boto3 is synchronous. Each call runs on a small thread pool owned by the
backend (not asyncio's default executor, which task bodies written as plain
``def`` share), so a slow AWS call never blocks the engine's event loop and
never starves task threads. aiobotocore was the alternative; it pins botocore to
its own release train and would put a second HTTP stack in every Lambda bundle,
for no gain at the concurrency one function instance runs at.

A client is created when it is first used, then reused: creating one loads its
service's model and costs tens of milliseconds, which a Lambda function pays in
its cold start, and most functions use two or three of the five (a task's
function never calls EventBridge Scheduler unless a deadline is over 15
minutes away).

Every HTTP request the clients send is counted by ``"service.Operation"`` (a
retry counts again: it is a request AWS bills), with the bytes of its body, so
the simulator and the benchmarks can report what a workload costs.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_sqs import SQSClient

__all__ = ["Clients", "ConnectionSettings"]

T = TypeVar("T")
C = TypeVar("C", bound="BaseClient")

_WRITES = frozenset(
    {
        "BatchWriteItem",
        "DeleteItem",
        "PutItem",
        "TransactWriteItems",
        "UpdateItem",
        "PutObject",
        "SendMessage",
        "SendMessageBatch",
        "CreateSchedule",
        "PutEvents",
    }
)


class ConnectionSettings(Protocol):
    """How to reach AWS: what the backend's and the event bus's configurations both give."""

    @property
    def region(self) -> str | None:
        """The AWS region, or None for the standard chain."""

    @property
    def endpoint_url(self) -> str | None:
        """A local AWS endpoint (moto, LocalStack), or None for AWS."""

    @property
    def max_workers(self) -> int:
        """Threads running boto3 calls."""


class Clients:
    """The boto3 clients of one backend, their thread pool and their request counts.

    Attributes:
        requests: AWS requests sent, by ``"service.Operation"``.
        bytes_written: Request body bytes of write operations, by ``"service.Operation"``.
    """

    def __init__(self, config: ConnectionSettings, session: boto3.Session | None = None) -> None:
        self._session = session or boto3.Session(region_name=config.region)
        # Enough connections for every worker thread; standard retry mode backs off
        # on throttling, which on-demand tables answer while they scale.
        botocore_config = Config(
            max_pool_connections=config.max_workers * 2,
            retries={"mode": "standard", "max_attempts": 5},
        )
        options: dict[str, Any] = {"config": botocore_config}
        if config.endpoint_url is not None:
            options["endpoint_url"] = config.endpoint_url
        if config.region is not None:
            options["region_name"] = config.region
        self._options = options
        self.requests: Counter[str] = Counter()
        self.bytes_written: Counter[str] = Counter()
        # Calls run on the pool's threads, so two may ask for a client at once; a
        # boto3 session must not create clients concurrently.
        self._lock = threading.Lock()
        self._created: dict[str, Any] = {}
        self._pool = ThreadPoolExecutor(config.max_workers, thread_name_prefix="eventual-aws")

    def _client(self, name: str, create: Callable[[], C]) -> C:
        client = self._created.get(name)
        if client is None:
            with self._lock:
                client = self._created.get(name)
                if client is None:
                    client = create()
                    client.meta.events.register("before-send", self._count)
                    self._created[name] = client
        return cast(C, client)

    @property
    def created(self) -> frozenset[str]:
        """The names of the clients created so far (``"dynamodb"``, ``"sqs"``, ...)."""
        return frozenset(self._created)

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The DynamoDB client (created on first use)."""
        return self._client("dynamodb", lambda: self._session.client("dynamodb", **self._options))

    @property
    def s3(self) -> S3Client:
        """The S3 client (created on first use)."""
        return self._client("s3", lambda: self._session.client("s3", **self._options))

    @property
    def sqs(self) -> SQSClient:
        """The SQS client (created on first use)."""
        return self._client("sqs", lambda: self._session.client("sqs", **self._options))

    @property
    def scheduler(self) -> EventBridgeSchedulerClient:
        """The EventBridge Scheduler client (created on first use)."""
        return self._client("scheduler", lambda: self._session.client("scheduler", **self._options))

    @property
    def events(self) -> EventBridgeClient:
        """The EventBridge client (created on first use)."""
        return self._client("events", lambda: self._session.client("events", **self._options))

    def _count(self, request: Any, event_name: str, **details: Any) -> None:
        # event_name is "before-send.<service>.<Operation>".
        _, service, operation = event_name.split(".", 2)
        key = f"{service}.{operation}"
        self.requests[key] += 1
        if operation in _WRITES:
            body = getattr(request, "body", None)
            if isinstance(body, bytes | str):
                self.bytes_written[key] += len(body)

    async def call(self, function: Callable[..., T], /, **kwargs: Any) -> T:
        """Run one boto3 call on the backend's threads and return its answer."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(function, **kwargs))

    def close(self) -> None:
        """Stop the threads and close the clients' connections."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            created = list(self._created.values())
        for client in created:
            client.close()
