"""The bus contract, part two: running handlers, retries, back-off, dead letters, redrive."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from eventual import RetryPolicy, Service, event, subscription
from eventual.codec import JsonValue
from eventual.spi import Client, EventEnvelope

from .._bus import LocalBus
from .._delivery import BusOptions
from .._memory import MemoryBus
from .._store import Outcome


@attrs.frozen
class Charge:
    invoice: str
    cents: int


charged = event("Charged", Charge)

Now = Callable[[], datetime]
Advance = Callable[[timedelta], None]


def envelope(id_: str, payload: JsonValue) -> EventEnvelope:
    return EventEnvelope(
        id=id_,
        source="billing",
        name="Charged",
        time=datetime(2026, 1, 1, tzinfo=UTC),
        payload=payload,
    )


class Flaky(Exception):
    """A failure a retry may fix."""


class Abort(BaseException):
    """A BaseException that is neither an interrupt nor a cancellation."""


class DeliveryContract:
    """Handlers on a bus: retries on the bus's clock, dead letters, redrive, timeouts."""

    async def test_failures_are_retried_with_backoff_on_the_clock(
        self, bus: LocalBus, now: Now, advance: Advance, client: Client, start: datetime
    ) -> None:
        """Each retry waits the policy's back-off, measured on the attached clock."""
        attempts: list[datetime] = []

        @subscription(
            charged, retry=RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=10))
        )
        async def book(c: Charge) -> None:
            attempts.append(now())
            if len(attempts) < 3:
                raise Flaky("ledger busy")

        delivery = await bus.attach(Service.from_definitions("b", [book]), client, now, owner="x")
        await bus.publish([envelope("1", {"invoice": "i1", "cents": 5})])
        assert await delivery.deliver_due() == 1
        assert await delivery.next_due() == start + timedelta(seconds=10)
        advance(timedelta(seconds=9))
        assert await delivery.deliver_due() == 0  # not due yet
        advance(timedelta(seconds=1))
        assert await delivery.deliver_due() == 1
        assert await delivery.next_due() == start + timedelta(seconds=30)  # 10 s, then 20 s
        advance(timedelta(seconds=20))
        assert await delivery.deliver_due() == 1
        assert attempts == [start, start + timedelta(seconds=10), start + timedelta(seconds=30)]
        assert await delivery.pending() == 0
        assert await delivery.dead_letters() == []

    async def test_without_a_policy_a_failure_is_dead_lettered_at_once(
        self, bus: LocalBus, now: Now, advance: Advance, client: Client, start: datetime
    ) -> None:
        """No retry= means one attempt, as for tasks; the dead letter keeps the error."""

        @subscription(charged)
        async def book(c: Charge) -> None:
            raise Flaky(f"cannot book {c.invoice}")

        delivery = await bus.attach(Service.from_definitions("b", [book]), client, now, owner="x")
        await bus.publish([envelope("e1", {"invoice": "i1", "cents": 5})])
        advance(timedelta(seconds=3))
        assert await delivery.deliver_due() == 1
        (dead,) = await delivery.dead_letters()
        assert (dead.subscription, dead.error_type, dead.message) == (
            "book",
            "Flaky",
            "cannot book i1",
        )
        assert dead.attempts == 1
        assert dead.failed_at == start + timedelta(seconds=3)
        assert dead.event.id == "e1"
        assert dead.event.payload == {"invoice": "i1", "cents": 5}
        assert await delivery.pending() == 0
        assert await delivery.next_due() is None

    async def test_after_the_last_attempt_the_event_is_dead_lettered(
        self, bus: LocalBus, now: Now, advance: Advance, client: Client
    ) -> None:
        """A handler failing every attempt ends in the dead-letter store with the attempt count."""

        @subscription(
            charged, retry=RetryPolicy(max_attempts=2, initial_interval=timedelta(seconds=1))
        )
        async def book(c: Charge) -> None:
            raise Flaky("down")

        delivery = await bus.attach(Service.from_definitions("b", [book]), client, now, owner="x")
        await bus.publish([envelope("1", {"invoice": "i1", "cents": 5})])
        await delivery.deliver_due()
        assert await delivery.dead_letters() == []
        advance(timedelta(seconds=1))
        await delivery.deliver_due()
        (dead,) = await delivery.dead_letters()
        assert dead.attempts == 2

    async def test_non_retryable_errors_are_dead_lettered_without_retrying(
        self, bus: LocalBus, now: Now, client: Client
    ) -> None:
        """An error listed in non_retryable (or a subclass of it) skips the remaining attempts."""

        @subscription(charged, retry=RetryPolicy(max_attempts=5, non_retryable=(ValueError,)))
        async def book(c: Charge) -> None:
            raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad invoice")  # a ValueError

        delivery = await bus.attach(Service.from_definitions("b", [book]), client, now, owner="x")
        await bus.publish([envelope("1", {"invoice": "i1", "cents": 5})])
        await delivery.deliver_due()
        (dead,) = await delivery.dead_letters()
        assert (dead.error_type, dead.attempts) == ("UnicodeDecodeError", 1)

    async def test_a_payload_that_does_not_decode_is_dead_lettered_and_the_rest_run(
        self, bus: LocalBus, now: Now, client: Client
    ) -> None:
        """A foreign event that does not fit the subscription's type names the field; others run."""
        booked: list[Charge] = []

        @subscription(charged, retry=RetryPolicy(max_attempts=5))
        async def book(c: Charge) -> None:
            booked.append(c)

        delivery = await bus.attach(Service.from_definitions("b", [book]), client, now, owner="x")
        await bus.publish(
            [
                envelope("bad", {"invoice": "i1", "cents": "five"}),
                envelope("good", {"invoice": "i2", "cents": 2}),
            ]
        )
        assert await delivery.deliver_due() == 2
        assert booked == [Charge("i2", 2)]
        (dead,) = await delivery.dead_letters()
        assert dead.error_type == "DecodeError"
        assert dead.message == 'event Charged.cents: expected int, got "five"'
        assert dead.attempts == 1  # retrying cannot make it fit

    async def test_dead_letters_are_listed_in_order_and_paged(
        self, bus: LocalBus, now: Now, advance: Advance, client: Client
    ) -> None:
        """dead_letters lists oldest first; after= continues after a given id."""

        @subscription(charged)
        async def book(c: Charge) -> None:
            raise Flaky(c.invoice)

        delivery = await bus.attach(Service.from_definitions("b", [book]), client, now, owner="x")
        for n in range(5):
            await bus.publish([envelope(f"e{n}", {"invoice": f"i{n}", "cents": n})])
            advance(timedelta(seconds=1))
            await delivery.deliver_due()
        everything = await delivery.dead_letters()
        assert [d.message for d in everything] == ["i0", "i1", "i2", "i3", "i4"]
        first = await delivery.dead_letters(limit=2)
        assert [d.message for d in first] == ["i0", "i1"]
        rest = await delivery.dead_letters(after=first[-1].id)
        assert [d.message for d in rest] == ["i2", "i3", "i4"]
        assert await delivery.dead_letters(after="book|unknown") == []
        assert len({d.id for d in everything}) == 5

    async def test_redrive_delivers_dead_letters_again_with_fresh_attempts(
        self, bus: LocalBus, now: Now, advance: Advance, client: Client
    ) -> None:
        """Redriving chosen (or all) dead letters runs them again; a fixed handler succeeds."""
        broken = True
        booked: list[str] = []

        @subscription(
            charged, retry=RetryPolicy(max_attempts=2, initial_interval=timedelta(seconds=1))
        )
        async def book(c: Charge) -> None:
            if broken:
                raise Flaky("down")
            booked.append(c.invoice)

        delivery = await bus.attach(Service.from_definitions("b", [book]), client, now, owner="x")
        await bus.publish([envelope(f"e{n}", {"invoice": f"i{n}", "cents": n}) for n in range(3)])
        await delivery.deliver_due()
        advance(timedelta(seconds=1))
        await delivery.deliver_due()
        dead = await delivery.dead_letters()
        assert len(dead) == 3

        broken = False
        assert await delivery.redrive([dead[1].id, "book|nope", "junk"]) == 1
        assert await delivery.pending() == 1
        await delivery.deliver_due()
        assert booked == ["i1"]
        assert [d.id for d in await delivery.dead_letters()] == [dead[0].id, dead[2].id]

        broken = True
        assert await delivery.redrive() == 2
        await delivery.deliver_due()  # attempt 1 of 2 again: retried, not dead
        assert await delivery.dead_letters() == []
        broken = False
        advance(timedelta(seconds=1))
        await delivery.deliver_due()
        assert sorted(booked) == ["i0", "i1", "i2"]
        assert await delivery.redrive() == 0

    async def test_a_lapsed_lease_lets_another_worker_run_it_and_ignores_the_old_settle(
        self, now: Now, client: Client
    ) -> None:
        """A delivery whose holder vanished runs again elsewhere; a late settle changes nothing."""
        runs: list[str] = []

        @subscription(charged)
        async def book(c: Charge) -> None:
            runs.append(c.invoice)

        bus = MemoryBus(BusOptions(lease=timedelta(milliseconds=1)))
        service = Service.from_definitions("b", [book])
        delivery = await bus.attach(service, client, now, owner="x")
        await bus.publish([envelope("1", {"invoice": "i1", "cents": 1})])
        # A worker that claimed and died: claim without settling.
        (stale,) = await bus.store.claim("b", now(), "dead-worker", 10, 0.001)
        await asyncio.sleep(0.01)
        assert await delivery.deliver_due() == 1
        assert runs == ["i1"]
        assert await bus.store.settle([Outcome(claim=stale, kind="done", at=now())]) == 0

    async def test_bus_options_are_checked(self) -> None:
        """A non-positive lease or batch is refused with the offending value."""
        with pytest.raises(ValueError, match="lease must be positive"):
            BusOptions(lease=timedelta(0))
        with pytest.raises(ValueError, match="batch must be at least 1, got 0"):
            BusOptions(batch=0)
        with pytest.raises(ValueError, match="dedup_window must be positive"):
            BusOptions(dedup_window=timedelta(0))
        with pytest.raises(ValueError, match="handler_timeout must be positive"):
            BusOptions(handler_timeout=timedelta(0))

    async def test_a_slow_handler_does_not_hold_up_the_rest_of_its_round(
        self, bus: LocalBus, now: Now, client: Client
    ) -> None:
        """Each delivery is settled as soon as its handler returns, not when the round ends."""
        release = asyncio.Event()
        booked: list[str] = []

        @subscription(charged)
        async def book(c: Charge) -> None:
            if c.invoice == "slow":
                await release.wait()
            booked.append(c.invoice)

        delivery = await bus.attach(Service.from_definitions("b", [book]), client, now, owner="x")
        await bus.publish(
            [
                envelope("1", {"invoice": "slow", "cents": 1}),
                envelope("2", {"invoice": "fast", "cents": 2}),
            ]
        )
        round_ = asyncio.create_task(delivery.deliver_due())
        try:
            for _ in range(200):
                if booked == ["fast"] and await delivery.pending() == 1:
                    break
                await asyncio.sleep(0.005)
            assert booked == ["fast"]
            assert await delivery.pending() == 1  # only the slow one is still held
        finally:
            release.set()
        assert await round_ == 2
        assert await delivery.pending() == 0

    async def test_a_handler_raising_a_base_exception_fails_only_its_own_delivery(
        self, bus: LocalBus, now: Now, client: Client
    ) -> None:
        """A BaseException or a CancelledError raised by a handler is a failure like any other."""
        booked: list[str] = []

        @subscription(charged)
        async def book(c: Charge) -> None:
            if c.invoice == "abort":
                raise Abort("gave up")
            if c.invoice == "cancelled":
                raise asyncio.CancelledError("inner work was cancelled")
            booked.append(c.invoice)

        delivery = await bus.attach(Service.from_definitions("b", [book]), client, now, owner="x")
        await bus.publish(
            [
                envelope("1", {"invoice": "abort", "cents": 1}),
                envelope("2", {"invoice": "ok", "cents": 2}),
                envelope("3", {"invoice": "cancelled", "cents": 3}),
            ]
        )
        assert await delivery.deliver_due() == 3
        assert booked == ["ok"]
        assert await delivery.pending() == 0
        dead = {d.event.id: (d.error_type, d.message) for d in await delivery.dead_letters()}
        assert dead == {
            "1": ("Abort", "gave up"),
            "3": ("CancelledError", "inner work was cancelled"),
        }

    async def test_a_round_cancelled_at_shutdown_gives_its_deliveries_back(
        self, bus: LocalBus, now: Now, client: Client
    ) -> None:
        """Interrupted deliveries run again at once elsewhere, without using up an attempt."""
        started = asyncio.Event()
        runs: list[str] = []

        @subscription(charged)
        async def book(c: Charge) -> None:
            runs.append(c.invoice)
            started.set()
            await asyncio.Event().wait()  # until cancelled

        service = Service.from_definitions("b", [book])
        delivery = await bus.attach(service, client, now, owner="stopping")
        await bus.publish([envelope("1", {"invoice": "i1", "cents": 1})])
        round_ = asyncio.create_task(delivery.deliver_due())
        await started.wait()
        round_.cancel()
        with pytest.raises(asyncio.CancelledError):
            await round_
        assert await delivery.pending() == 1
        assert await delivery.next_due() is not None  # not leased any more
        (claim,) = await bus.store.claim("b", now(), "next", 10, 30)
        assert claim.attempt == 1

    async def test_a_handler_past_its_subscription_timeout_fails_and_is_retried(
        self, bus: LocalBus, now: Now, advance: Advance, client: Client
    ) -> None:
        """A handler running past timeout= is cancelled, counted as a failed attempt and retried."""
        attempts: list[int] = []

        @subscription(
            charged,
            timeout=0.2,
            retry=RetryPolicy(max_attempts=2, initial_interval=timedelta(seconds=1)),
        )
        async def book(c: Charge) -> None:
            attempts.append(c.cents)
            if len(attempts) == 1:
                await asyncio.sleep(60)

        delivery = await bus.attach(Service.from_definitions("b", [book]), client, now, owner="x")
        await bus.publish([envelope("1", {"invoice": "i1", "cents": 5})])
        assert await asyncio.wait_for(delivery.deliver_due(), 30) == 1
        assert await delivery.pending() == 1  # retried, not dead
        advance(timedelta(seconds=1))
        assert await asyncio.wait_for(delivery.deliver_due(), 30) == 1
        assert attempts == [5, 5]
        assert await delivery.pending() == 0
        assert await delivery.dead_letters() == []

    async def test_the_bus_default_timeout_applies_when_a_subscription_sets_none(
        self, now: Now, client: Client
    ) -> None:
        """Without timeout= the bus's handler_timeout bounds a handler; the letter says Timeout."""

        @subscription(charged)
        async def book(c: Charge) -> None:
            await asyncio.sleep(60)

        async with MemoryBus(BusOptions(handler_timeout=timedelta(seconds=0.2))) as bus:
            delivery = await bus.attach(
                Service.from_definitions("b", [book]), client, now, owner="x"
            )
            await bus.publish([envelope("1", {"invoice": "i1", "cents": 5})])
            assert await asyncio.wait_for(delivery.deliver_due(), 30) == 1
            (dead,) = await delivery.dead_letters()
        assert dead.error_type == "Timeout"
        assert "took longer than its timeout of 0.2 s" in dead.message

    async def test_a_timeout_error_of_the_handler_itself_is_its_own_failure(
        self, bus: LocalBus, now: Now, client: Client
    ) -> None:
        """A TimeoutError the handler raises is reported as it is, not as the bus's timeout."""

        @subscription(charged)
        async def book(c: Charge) -> None:
            raise TimeoutError("the ledger did not answer")

        delivery = await bus.attach(Service.from_definitions("b", [book]), client, now, owner="x")
        await bus.publish([envelope("1", {"invoice": "i1", "cents": 5})])
        assert await delivery.deliver_due() == 1
        (dead,) = await delivery.dead_letters()
        assert (dead.error_type, dead.message) == ("TimeoutError", "the ledger did not answer")
