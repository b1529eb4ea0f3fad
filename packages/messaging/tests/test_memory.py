"""The in-memory bus (``eventual_messaging._memory``); its contract is in test_bus.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from eventual import Service, event, subscription
from eventual.spi import Client, EventEnvelope
from eventual_messaging import MemoryBus

ping = event("Ping", int)


async def test_each_memory_bus_is_its_own_world(
    now: Callable[[], datetime], client: Client
) -> None:
    """Two memory buses share nothing: what one accepts the other never delivers."""

    @subscription(ping)
    async def pong(n: int) -> None: ...

    service = Service.from_definitions("s", [pong])
    first, second = MemoryBus(), MemoryBus()
    on_first = await first.attach(service, client, now, owner="a")
    on_second = await second.attach(service, client, now, owner="b")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    await first.publish([EventEnvelope(id="1", source="s", name="Ping", time=at, payload=1)])
    assert await on_first.pending() == 1
    assert await on_second.pending() == 0
    assert repr(first) == "MemoryBus()"
