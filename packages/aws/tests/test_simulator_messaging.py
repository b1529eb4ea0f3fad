"""eventual-messaging's subscription semantics, run on the simulator.

The suite (``eventual_messaging.conformance.SubscriptionSemantics``) runs its
``shipping`` service, provisioned on moto with the ``eventbridge`` bus: each
subscription a rule feeding its own queue, consumed by its function. Every test
is called with a harness whose ``bus`` is the simulator's bus, whose
``delivery`` lists and redrives the service's dead letters as ``eventual
dead-letters`` does, and whose ``settle`` waits until the functions are idle
(retries held back by their visibility timeout included), with every message
delivered once and twice. One simulator per setting serves all the tests
(provisioning is most of a short test's time), which is why the suite's tests
look only at their own events.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from eventual import ExecutionHandle, Service, Workflow
from eventual.spi import EventBus, SubscriptionDelivery, reset_client, set_client
from eventual_aws import Simulator
from eventual_messaging.conformance import SubscriptionSemantics, shipping

pytest.importorskip("eventual_aws._lambda")

_prefixes = itertools.count()


class SimulatedHarness:
    """The messaging tests' harness on the simulator."""

    def __init__(self, simulator: Simulator, delivery: SubscriptionDelivery) -> None:
        self.simulator = simulator
        bus = simulator.client.bus
        assert bus is not None
        self.bus: EventBus = bus
        self.delivery = delivery

    async def start(self, workflow: Workflow[Any, Any], input: Any) -> ExecutionHandle[Any]:
        """Start an execution and let the work that needs no time finish."""
        handle = await self.simulator.start(workflow, input)
        await self.simulator.settle()
        return handle

    async def settle(self) -> None:
        """Wait until the functions have nothing left to do (retries due in seconds included)."""
        assert await self.simulator.settle(), "the functions were still busy"


@pytest_asyncio.fixture(
    scope="module", loop_scope="module", params=[False, True], ids=["once", "twice"]
)
async def simulator(request: pytest.FixtureRequest, endpoint: str) -> AsyncIterator[Simulator]:
    """The service on moto, shared by the module's tests: every message delivered once or twice."""
    service = Service.load(shipping.__name__, name=shipping.SOURCE)
    async with Simulator(
        service,
        endpoint_url=endpoint,
        prefix=f"msg{next(_prefixes)}",
        duplicate_deliveries=request.param,
    ) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def h(simulator: Simulator) -> AsyncIterator[SimulatedHarness]:
    """The harness on the shared simulator, with the simulator's client the ambient one."""
    shipping.reset()
    bus = simulator.client.bus
    assert bus is not None
    delivery = await bus.attach(simulator.service, simulator.client, simulator.now, owner="tests")
    token = set_client(simulator.client)  # the ambient client of the test's own task
    try:
        yield SimulatedHarness(simulator, delivery)
    finally:
        reset_client(token)


@pytest.mark.asyncio(loop_scope="module")
class TestSubscriptionSemanticsOnTheSimulator(SubscriptionSemantics):
    """Each event and subscription test of eventual-messaging passes on the AWS runtime."""
