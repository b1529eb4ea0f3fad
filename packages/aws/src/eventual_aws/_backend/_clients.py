"""boto3 clients, created once per backend, called off the event loop, and counted.

boto3 is synchronous. Each call runs on a small thread pool owned by the
backend (not asyncio's default executor, which task bodies written as plain
``def`` share), so a slow AWS call never blocks the engine's event loop and
never starves task threads. aiobotocore was the alternative; it pins botocore to
its own release train and would put a second HTTP stack in every Lambda bundle,
for no gain at the concurrency one function instance runs at.

Every HTTP request the clients send is counted by ``"service.Operation"`` (a
retry counts again: it is a request AWS bills), with the bytes of its body, so
the simulator and the benchmarks can report what a workload costs.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_sqs import SQSClient

__all__ = ["Clients", "ConnectionSettings"]

T = TypeVar("T")

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
        session = session or boto3.Session(region_name=config.region)
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
        self.requests: Counter[str] = Counter()
        self.bytes_written: Counter[str] = Counter()
        self.dynamodb: DynamoDBClient = session.client("dynamodb", **options)
        self.s3: S3Client = session.client("s3", **options)
        self.sqs: SQSClient = session.client("sqs", **options)
        self.scheduler: EventBridgeSchedulerClient = session.client("scheduler", **options)
        self.events: EventBridgeClient = session.client("events", **options)
        for client in (self.dynamodb, self.s3, self.sqs, self.scheduler, self.events):
            client.meta.events.register("before-send", self._count)
        self._pool = ThreadPoolExecutor(config.max_workers, thread_name_prefix="eventual-aws")

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
        for client in (self.dynamodb, self.s3, self.sqs, self.scheduler, self.events):
            client.close()
