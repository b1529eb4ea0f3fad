"""eventual-messaging's subscription semantics on the ``postgres`` backend and event bus.

The suite (``eventual_messaging.conformance.SubscriptionSemantics``) runs its
``shipping`` service on ``LocalRuntime`` with ``backend="postgres"``, which
brings the ``postgres`` bus with it, in real time: on the server the test
session starts, each test in a fresh schema, as eventual-messaging runs it on
SQLite and eventual-aws on its simulator.

Each test runs twice: on one runtime, and on two runtimes sharing the schema as
two processes share a database. There the second runtime publishes, starts
executions and redrives (it is the ambient client), while both relay the
outbox and run deliveries, so either may take work the other published; an
event handled twice, or a dead letter the client never sees, fails the suite.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from eventual import ExecutionHandle, Workflow
from eventual.spi import EventBus, SubscriptionDelivery
from eventual_engine import LocalRuntime
from eventual_messaging.conformance import SubscriptionSemantics, shipping
from eventual_postgres import PostgresBus


class PostgresHarness:
    """The service on runtimes sharing one schema; the last one is the client."""

    def __init__(self, runtimes: list[LocalRuntime]) -> None:
        self.runtimes = runtimes
        self.client = runtimes[-1]
        bus = self.client.engine.bus
        delivery = self.client.engine.subscriptions
        assert isinstance(bus, PostgresBus), bus  # the backend's own bus, not a local one
        assert delivery is not None
        self.bus: EventBus = bus
        self.delivery: SubscriptionDelivery = delivery

    async def start(self, workflow: Workflow[Any, Any], input: Any) -> ExecutionHandle[Any]:
        """Start an execution; return its handle."""
        return await self.client.start(workflow, input)

    async def settle(self, quiet: float = 0.3, timeout: float = 30.0) -> None:
        """Wait until nothing is left to relay and no delivery waits or runs for ``quiet`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        since: float | None = None
        while loop.time() < deadline:
            # The runtimes share the schema: one look at the outbox and the deliveries sees all.
            relayed = not await self.client.engine.backend.published(1)
            if relayed and await self.delivery.pending() == 0:
                since = since or loop.time()
                if loop.time() - since >= quiet:
                    return
            else:
                since = None
            await asyncio.sleep(0.05)
        raise AssertionError(f"deliveries still pending after {timeout} s")


@pytest.fixture(params=[1, 2], ids=["one-runtime", "two-runtimes"])
async def h(
    request: pytest.FixtureRequest, postgres_dsn: str, schema: str
) -> AsyncIterator[PostgresHarness]:
    """The shipping service on runtimes sharing a fresh schema."""
    shipping.reset()
    settings: dict[str, object] = {"dsn": postgres_dsn, "postgres_schema": schema}
    async with contextlib.AsyncExitStack() as stack:
        runtimes = [
            await stack.enter_async_context(
                LocalRuntime(shipping.SERVICE, backend="postgres", settings=settings)
            )
            for _ in range(request.param)
        ]
        yield PostgresHarness(runtimes)


class TestSubscriptionSemantics(SubscriptionSemantics):
    """Every semantics test, on the ``postgres`` backend and bus."""
