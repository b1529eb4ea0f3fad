"""The subscription semantics (``eventual_messaging.conformance``) on ``LocalRuntime``.

The harness runs the suite's ``shipping`` service with SQLite state and the
SQLite bus, in real time; eventual-aws runs the same suite on its simulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from eventual import Workflow
from eventual.spi import EventBus, SubscriptionDelivery
from eventual_messaging.conformance import SubscriptionSemantics, shipping

engine = pytest.importorskip("eventual_engine")


class LocalHarness:
    """The service on ``LocalRuntime``: SQLite state, the SQLite bus, real time."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.bus: EventBus = runtime.engine.bus
        subscriptions = runtime.engine.subscriptions
        assert subscriptions is not None
        self.delivery: SubscriptionDelivery = subscriptions

    async def start(self, workflow: Workflow[Any, Any], input: Any) -> Any:
        """Start an execution; return its handle."""
        return await self.runtime.start(workflow, input)

    async def settle(self, quiet: float = 0.3, timeout: float = 30.0) -> None:
        """Wait until no delivery is waiting or running for ``quiet`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        since: float | None = None
        while loop.time() < deadline:
            relayed = not await self.runtime.engine.backend.published(1)
            if relayed and await self.delivery.pending() == 0:
                since = since or loop.time()
                if loop.time() - since >= quiet:
                    return
            else:
                since = None
            await asyncio.sleep(0.05)
        raise AssertionError(f"deliveries still pending after {timeout} s")


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[LocalHarness]:
    """The shipping service on a fresh ``LocalRuntime``."""
    shipping.reset()
    async with engine.LocalRuntime(shipping.SERVICE, db=tmp_path / "state.db") as runtime:
        yield LocalHarness(runtime)


class TestSubscriptionSemantics(SubscriptionSemantics):
    """Every semantics test, on ``LocalRuntime``."""
