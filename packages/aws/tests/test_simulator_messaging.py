"""The messaging package's event and subscription semantics, run on the simulator.

``packages/messaging/tests/test_semantics.py`` is loaded by path, as
``test_simulator_semantics`` loads the engine's workflow tests, and its service
is provisioned on moto with the ``eventbridge`` bus: each subscription a rule
feeding its own queue, consumed by its function. Every test is called with a
harness whose ``bus`` is the simulator's bus, whose ``delivery`` lists and
redrives the service's dead letters as ``eventual dead-letters`` does, and whose
``settle`` waits until the functions are idle (retries held back by their
visibility timeout included), with every message delivered once and twice. One
simulator per setting serves all the tests (provisioning is most of a short
test's time), which is why the tests look only at their own events.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio

from eventual import ExecutionHandle, Service, Workflow
from eventual.spi import EventBus, SubscriptionDelivery, reset_client, set_client
from eventual_aws import Simulator

pytest.importorskip("eventual_aws._lambda")

MESSAGING_TESTS = Path(__file__).resolve().parents[2] / "messaging" / "tests" / "test_semantics.py"
MODULE = "messaging_semantics"
_prefixes = itertools.count()


def _messaging_tests() -> ModuleType:
    loaded = sys.modules.get(MODULE)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(MODULE, MESSAGING_TESTS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    spec.loader.exec_module(module)
    return module


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


@pytest.fixture(scope="module")
def messaging_tests() -> Iterator[ModuleType]:
    """The messaging test module, importable by name so the handlers load its service."""
    yield _messaging_tests()
    sys.modules.pop(MODULE, None)


@pytest_asyncio.fixture(
    scope="module", loop_scope="module", params=[False, True], ids=["once", "twice"]
)
async def simulator(
    request: pytest.FixtureRequest, endpoint: str, messaging_tests: ModuleType
) -> AsyncIterator[Simulator]:
    """The service on moto, shared by the module's tests: every message delivered once or twice."""
    service = Service.load(MODULE, name=messaging_tests.SOURCE)
    async with Simulator(
        service,
        endpoint_url=endpoint,
        prefix=f"msg{next(_prefixes)}",
        duplicate_deliveries=request.param,
    ) as running:
        yield running


TESTS = sorted(name for name in dir(_messaging_tests()) if name.startswith("test_"))
sys.modules.pop(MODULE, None)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("name", [pytest.param(n, id=n.removeprefix("test_")) for n in TESTS])
async def test_messaging_semantics_hold_on_the_simulator(
    name: str, simulator: Simulator, messaging_tests: ModuleType
) -> None:
    """Each event and subscription test of eventual-messaging passes on the AWS runtime."""
    messaging_tests.reset()
    bus = simulator.client.bus
    assert bus is not None
    delivery = await bus.attach(simulator.service, simulator.client, simulator.now, owner="tests")
    token = set_client(simulator.client)  # the ambient client of the test's own task
    try:
        await getattr(messaging_tests, name)(SimulatedHarness(simulator, delivery))
    finally:
        reset_client(token)
