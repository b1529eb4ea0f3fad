"""The event bus contract and the subscription semantics, as pytest suites for any bus.

Needs pytest and pytest-asyncio (the ``conformance`` extra:
``pip install "eventual-messaging[conformance]"``); ``import eventual_messaging``
does not import this package.

:class:`BusContract` is what every ``LocalBus`` (a bus over a ``BusStore`` of
its own) must do; the memory and SQLite buses pass it, as does eventual-postgres.
Subclass it in a test module, and give it a ``bus`` fixture (an open bus, fresh
and empty for each test) and the fixtures of
:mod:`eventual_messaging.conformance.fixtures`::

    # conftest.py
    from eventual_messaging.conformance.fixtures import (
        advance as advance, client as client, manual_clock as manual_clock,
        now as now, published as published, start as start,
    )

    @pytest.fixture
    async def bus() -> AsyncIterator[LocalBus]:
        async with MyBus(...) as opened:
            yield opened

    # test_bus_contract.py
    from eventual_messaging.conformance import BusContract

    class TestBusContract(BusContract):
        \"\"\"eventual-messaging's bus contract on my bus.\"\"\"

:class:`SubscriptionSemantics` runs a whole service
(:mod:`eventual_messaging.conformance.shipping`) on a runtime, in real time; a
runtime proves its event bus and subscription delivery with it, given an ``h``
fixture (a :class:`SemanticsHarness`). eventual-aws runs it on its simulator,
eventual-postgres on ``LocalRuntime`` with its backend and bus.

The tests are ``async``: run them under pytest-asyncio in ``auto`` mode, or
mark the subclass ``@pytest.mark.asyncio``. ``pytest.register_assert_rewrite(
"eventual_messaging.conformance")`` in a ``conftest.py`` (before the import) gives
failing tests pytest's detailed assertion messages.
"""

from __future__ import annotations

from ._bus import RoutingContract
from ._delivery import DeliveryContract
from ._semantics import SemanticsHarness, SubscriptionSemantics

__all__ = ["BusContract", "SemanticsHarness", "SubscriptionSemantics"]


class BusContract(RoutingContract, DeliveryContract):
    """Every promise of a ``LocalBus``: routing, deduplication, leases, retries, dead letters.

    Subclass it as ``Test...`` in a test module; its tests take a ``bus`` fixture
    and the fixtures of :mod:`eventual_messaging.conformance.fixtures`.
    """
