"""The bus contract, part one: routing, fan-out, deduplication, leases, forgetting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs

from eventual import Service, event, numeric, subscription
from eventual.codec import JsonValue
from eventual.spi import Client, EventEnvelope

from .._bus import LocalBus


@attrs.frozen
class Placed:
    order_id: str
    region: str
    total: float


placed = event("Placed", Placed)


def envelope(
    id_: str, payload: JsonValue, *, name: str = "Placed", source: str = "orders"
) -> EventEnvelope:
    return EventEnvelope(
        id=id_, source=source, name=name, time=datetime(2026, 1, 1, tzinfo=UTC), payload=payload
    )


def order(order_id: str, region: str = "eu", total: float = 10.0) -> JsonValue:
    return {"order_id": order_id, "region": region, "total": total}


class RoutingContract:
    """Publishing and routing: fan-out by pattern, one delivery per event id, leases."""

    async def test_publish_fans_out_to_every_matching_subscription_of_every_service(
        self, bus: LocalBus, now: Callable[[], datetime], client: Client
    ) -> None:
        """Each attached service's subscriptions receive the events their patterns match."""
        audit_seen: list[str] = []
        eu_seen: list[str] = []
        big_seen: list[str] = []

        @subscription(placed)
        async def audit(p: Placed) -> None:
            audit_seen.append(p.order_id)

        @subscription(placed.where(region="eu"))
        async def europe(p: Placed) -> None:
            eu_seen.append(p.order_id)

        @subscription(placed.where(total=numeric(">", 100)))
        async def big(p: Placed) -> None:
            big_seen.append(p.order_id)

        auditing = await bus.attach(
            Service.from_definitions("audit", [audit]), client, now, owner="a"
        )
        sales = await bus.attach(
            Service.from_definitions("sales", [europe, big]), client, now, owner="s"
        )
        await bus.publish(
            [
                envelope("1", order("o1", "eu", 5)),
                envelope("2", order("o2", "us", 500)),
                envelope("3", order("o3", "eu", 200)),
            ]
        )
        assert await sales.pending() == 4
        assert await auditing.pending() == 3
        assert await sales.deliver_due() == 4
        assert await auditing.deliver_due() == 3
        assert sorted(audit_seen) == ["o1", "o2", "o3"]
        assert sorted(eu_seen) == ["o1", "o3"]
        assert sorted(big_seen) == ["o2", "o3"]
        assert await sales.pending() == await auditing.pending() == 0
        assert await sales.deliver_due() == 0

    async def test_publishing_the_same_id_again_does_nothing(
        self, bus: LocalBus, now: Callable[[], datetime], client: Client
    ) -> None:
        """A republished envelope (a publisher retrying after a crash) is delivered once."""
        seen: list[str] = []

        @subscription(placed)
        async def audit(p: Placed) -> None:
            seen.append(p.order_id)

        delivery = await bus.attach(Service.from_definitions("a", [audit]), client, now, owner="x")
        await bus.publish([envelope("same", order("o1")), envelope("same", order("o1"))])
        await bus.publish([envelope("same", order("o1"))])
        assert await delivery.pending() == 1
        await delivery.deliver_due()
        await bus.publish([envelope("same", order("o1"))])  # after the successful delivery
        assert await delivery.deliver_due() == 0
        assert seen == ["o1"]

    async def test_handlers_run_with_the_client_and_can_publish(
        self,
        bus: LocalBus,
        now: Callable[[], datetime],
        client: Client,
        published: list[tuple[str, JsonValue]],
    ) -> None:
        """A handler's ev.publish goes to the client given at attach time."""
        shipped = event("Shipped", str)

        @subscription(placed)
        async def ship(p: Placed) -> None:
            await shipped.publish(p.order_id)

        delivery = await bus.attach(Service.from_definitions("s", [ship]), client, now, owner="x")
        await bus.publish([envelope("1", order("o1"))])
        await delivery.deliver_due()
        assert published == [("Shipped", "o1")]

    async def test_events_published_before_a_service_attaches_are_not_delivered_to_it(
        self, bus: LocalBus, now: Callable[[], datetime], client: Client
    ) -> None:
        """Routing happens at publish time, as with EventBridge rules."""

        @subscription(placed)
        async def late(p: Placed) -> None: ...

        await bus.publish([envelope("early", order("o1"))])
        delivery = await bus.attach(Service.from_definitions("l", [late]), client, now, owner="x")
        assert await delivery.pending() == 0
        await bus.publish([envelope("later", order("o2"))])
        assert await delivery.pending() == 1

    async def test_two_processes_of_one_service_never_run_a_delivery_twice(
        self, bus: LocalBus, now: Callable[[], datetime], client: Client
    ) -> None:
        """Deliveries are claimed with leases, so concurrent workers split them."""
        seen: list[str] = []

        @subscription(placed)
        async def audit(p: Placed) -> None:
            seen.append(p.order_id)
            await asyncio.sleep(0)

        service = Service.from_definitions("a", [audit])
        first = await bus.attach(service, client, now, owner="one")
        second = await bus.attach(service, client, now, owner="two")
        await bus.publish([envelope(str(n), order(f"o{n}")) for n in range(100)])
        done = 0
        while done < 100:
            counts = await asyncio.gather(first.deliver_due(), second.deliver_due())
            assert sum(counts) > 0
            done += sum(counts)
        assert sorted(seen) == sorted(f"o{n}" for n in range(100))

    async def test_a_removed_subscription_dead_letters_its_waiting_deliveries(
        self, bus: LocalBus, now: Callable[[], datetime], client: Client
    ) -> None:
        """Re-attaching a service without a subscription dead-letters what waited for it."""

        @subscription(placed)
        async def old(p: Placed) -> None: ...

        @subscription(placed)
        async def new(p: Placed) -> None: ...

        await bus.attach(Service.from_definitions("svc", [old]), client, now, owner="v1")
        await bus.publish([envelope("1", order("o1"))])
        v2 = await bus.attach(Service.from_definitions("svc", [new]), client, now, owner="v2")
        await bus.publish([envelope("2", order("o2"))])
        assert await v2.deliver_due() == 2
        (dead,) = await v2.dead_letters()
        assert dead.subscription == "old"
        assert dead.error_type == "UnknownSubscription"
        assert dead.event.id == "1"

    async def test_next_due_and_pending_follow_the_clock(
        self,
        bus: LocalBus,
        now: Callable[[], datetime],
        advance: Callable[[timedelta], None],
        client: Client,
        start: datetime,
    ) -> None:
        """A new delivery is due at its publish time; nothing waits once it is settled."""

        @subscription(placed)
        async def audit(p: Placed) -> None: ...

        delivery = await bus.attach(Service.from_definitions("a", [audit]), client, now, owner="x")
        assert await delivery.next_due() is None
        await bus.publish([envelope("1", order("o1"))])
        assert await delivery.next_due() == start
        advance(timedelta(seconds=1))
        await delivery.deliver_due()
        assert await delivery.next_due() is None
        assert await delivery.pending() == 0

    async def test_a_subscription_receives_an_event_declared_elsewhere_by_name(
        self, bus: LocalBus, now: Callable[[], datetime], client: Client
    ) -> None:
        """A local event("Placed", T) receives what another service publishes under that name."""

        @attrs.frozen
        class MyPlaced:  # the subscriber's own type, with only the fields it needs
            order_id: str
            region: str
            total: float

        mine = event("Placed", MyPlaced)
        seen: list[MyPlaced] = []

        @subscription(mine.where(region="eu"))
        async def watch(p: MyPlaced) -> None:
            seen.append(p)

        delivery = await bus.attach(Service.from_definitions("w", [watch]), client, now, owner="x")
        await bus.publish([envelope("1", order("o1", "eu", 1.5), source="someone-else")])
        await delivery.deliver_due()
        assert seen == [MyPlaced("o1", "eu", 1.5)]

    async def test_closing_twice_is_harmless(self, bus: LocalBus) -> None:
        """close() is idempotent."""
        await bus.close()
        await bus.close()

    async def test_event_ids_are_forgotten_after_the_dedup_window(
        self,
        bus: LocalBus,
        now: Callable[[], datetime],
        advance: Callable[[timedelta], None],
        client: Client,
    ) -> None:
        """Within the window a republished id is ignored; after it, old ids are forgotten."""
        seen: list[str] = []

        @subscription(placed)
        async def audit(p: Placed) -> None:
            seen.append(p.order_id)

        @subscription(placed)
        async def broken(p: Placed) -> None:
            raise RuntimeError("always")

        delivery = await bus.attach(
            Service.from_definitions("a", [audit, broken]), client, now, owner="x"
        )
        first = attrs.evolve(envelope("old", order("o1")), time=now())
        await bus.publish([first])
        assert await delivery.deliver_due() == 2
        advance(timedelta(days=6))
        await bus.publish([first])
        assert await delivery.deliver_due() == 0  # still within the 7-day window
        advance(timedelta(days=2))
        assert await delivery.deliver_due() == 0  # this round forgets what it may
        # The dead letter keeps its event: it can still be listed and redriven.
        (letter,) = await delivery.dead_letters()
        assert letter.event.id == "old"
        # audit's delivery was settled, but broken's dead letter still needs the
        # event, so the id is still known and a republish is ignored.
        await bus.publish([first])
        assert await delivery.pending() == 0
        assert await delivery.redrive() == 1
        assert await delivery.deliver_due() == 1  # broken fails again: dead again
        assert seen == ["o1"]

    async def test_an_event_no_delivery_needs_is_forgotten(
        self,
        bus: LocalBus,
        now: Callable[[], datetime],
        advance: Callable[[timedelta], None],
        client: Client,
    ) -> None:
        """Once every delivery of an old event is settled, its id is forgotten and can recur."""
        seen: list[str] = []

        @subscription(placed)
        async def audit(p: Placed) -> None:
            seen.append(p.order_id)

        delivery = await bus.attach(Service.from_definitions("a", [audit]), client, now, owner="x")
        old = attrs.evolve(envelope("id-1", order("o1")), time=now())
        await bus.publish([old])
        await delivery.deliver_due()
        advance(timedelta(days=8))
        await delivery.deliver_due()  # forgets id-1
        await bus.publish([attrs.evolve(old, time=now())])
        assert await delivery.deliver_due() == 1
        assert seen == ["o1", "o1"]

    async def test_a_service_gone_for_good_can_be_forgotten(
        self, bus: LocalBus, now: Callable[[], datetime], client: Client
    ) -> None:
        """Forget removes a service's routes and deliveries; the others keep theirs."""
        from .._store import ServiceRoutes

        @subscription(placed)
        async def audit(p: Placed) -> None:
            pass

        @subscription(placed)
        async def broken(p: Placed) -> None:
            raise RuntimeError("no")

        kept = await bus.attach(Service.from_definitions("kept", [audit]), client, now, owner="k")
        gone = await bus.attach(Service.from_definitions("gone", [broken]), client, now, owner="g")
        await bus.publish([envelope("1", order("o1"))])
        await gone.deliver_due()  # dead-letters it
        await bus.publish([envelope("2", order("o2"))])
        assert await bus.services() == [
            ServiceRoutes(service="gone", subscriptions=("broken",), waiting=1, dead=1),
            ServiceRoutes(service="kept", subscriptions=("audit",), waiting=2, dead=0),
        ]
        removed = await bus.forget("gone")
        assert (removed.waiting, removed.dead) == (1, 1)
        assert [s.service for s in await bus.services()] == ["kept"]
        await bus.publish([envelope("3", order("o3"))])
        assert await gone.pending() == 0
        assert await gone.dead_letters() == []
        assert await kept.pending() == 3
        assert (await bus.forget("never-there")).subscriptions == ()

    async def test_an_event_published_while_a_round_finds_nothing_is_delivered_next(
        self, bus: LocalBus, now: Callable[[], datetime], client: Client
    ) -> None:
        """An event published while a delivery round finds nothing waiting is never stranded."""
        seen: list[str] = []

        @subscription(placed)
        async def audit(p: Placed) -> None:
            seen.append(p.order_id)

        delivery = await bus.attach(Service.from_definitions("a", [audit]), client, now, owner="x")
        for round_ in range(16):
            # The publish starts after 0 to 7 event-loop turns, so for a bus in this
            # process it lands at each await point of the round in turn.
            arrival = _publish_after(bus, envelope(f"r{round_}", order(f"o{round_}")), round_ % 8)
            ran, _ = await asyncio.gather(delivery.deliver_due(), arrival)
            ran += await delivery.deliver_due()
            assert ran == 1, f"round {round_}: {ran} deliveries ran"
        assert sorted(seen) == sorted(f"o{n}" for n in range(16))
        assert await delivery.pending() == 0


async def _publish_after(bus: LocalBus, published: EventEnvelope, turns: int) -> None:
    """Publish ``published`` after ``turns`` turns of the event loop."""
    for _ in range(turns):
        await asyncio.sleep(0)
    await bus.publish([published])
