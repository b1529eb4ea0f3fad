"""The orders service, tested on a virtual clock with the eventual_env fixture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import call

import pytest
from orders.service import (
    AUDIT_LOG,
    STOCK,
    Order,
    OrderPlaced,
    approval,
    fulfil,
    nightly_restock,
    order_placed,
    place_order,
    reserve_stock,
    restock,
)

from eventual import ExecutionNotFound, ExecutionStatus, HttpError
from eventual_testing import TestEnvironment


async def test_an_approved_order_ships_and_is_audited(eventual_env: TestEnvironment) -> None:
    """Placed through the HTTP command, approved, five minutes later it ships."""
    execution_id = await eventual_env.call(place_order, Order("o1", "book", 2))
    assert execution_id == "fulfil/o1"
    handle = eventual_env.execution(execution_id)
    await eventual_env.run_until_idle()
    assert await handle.status() is ExecutionStatus.RUNNING
    assert STOCK["book"] == 8  # the real task ran

    await handle.signal(approval, True)
    await eventual_env.advance(timedelta(minutes=4, seconds=59))
    assert await handle.status() is ExecutionStatus.RUNNING
    await eventual_env.advance(timedelta(seconds=1))
    assert await handle.result() == "shipped"
    assert eventual_env.published(order_placed) == [OrderPlaced("o1")]
    assert AUDIT_LOG == ["o1"]


async def test_a_rejected_order_is_not_shipped(eventual_env: TestEnvironment) -> None:
    """Approval False ends the order as rejected after the same five minutes."""
    handle = await eventual_env.start(fulfil, Order("o2", "pen", 1))
    await eventual_env.run_until_idle()
    await handle.signal(approval, False)
    await eventual_env.advance(timedelta(minutes=5))
    assert await handle.result() == "rejected"


async def test_an_order_without_approval_times_out_after_an_hour(
    eventual_env: TestEnvironment,
) -> None:
    """Nobody approves: at exactly one hour the approval wait times out."""
    handle = await eventual_env.start(fulfil, Order("o3", "book", 1))
    await eventual_env.advance(timedelta(minutes=59))
    assert await handle.status() is ExecutionStatus.RUNNING
    await eventual_env.advance(timedelta(minutes=1))
    assert await handle.result() == "timed-out"
    assert eventual_env.published(order_placed) == []


async def test_an_approval_racing_the_timeout_wins_when_it_arrives_first(
    eventual_env: TestEnvironment,
) -> None:
    """An approval one second before the hour is taken; the timeout never fires."""
    handle = await eventual_env.start(fulfil, Order("o4", "book", 1))
    await eventual_env.advance(timedelta(minutes=59, seconds=59))
    await handle.signal(approval, True)
    await eventual_env.advance(timedelta(minutes=5))
    assert await handle.result() == "shipped"


async def test_out_of_stock_with_a_mocked_reservation(eventual_env: TestEnvironment) -> None:
    """A mocked reserve_stock answering False ends the order at once."""
    reserve = eventual_env.mock(reserve_stock).returns(False)
    handle = await eventual_env.start(fulfil, Order("o5", "book", 1))
    assert await handle.result() == "out-of-stock"
    assert reserve.calls == [call("book", 1)]
    assert STOCK["book"] == 10


async def test_a_flaky_reservation_is_retried(eventual_env: TestEnvironment) -> None:
    """reserve_stock retries (three attempts): two failures, then the real task succeeds."""
    reserve = (
        eventual_env.mock(reserve_stock)
        .raises_once(ConnectionError("stock service down"))
        .raises_once(ConnectionError("still down"))
    )
    handle = await eventual_env.start(fulfil, Order("o6", "book", 1))
    await eventual_env.advance(timedelta(minutes=1))  # past both retry back-offs
    assert reserve.calls == [call("book", 1)] * 3
    assert STOCK["book"] == 9
    await handle.signal(approval, True)
    await eventual_env.advance(timedelta(minutes=5))
    assert await handle.result() == "shipped"


async def test_placing_the_same_order_twice_is_one_execution(
    eventual_env: TestEnvironment,
) -> None:
    """The order id names the execution, so a repeated call returns the same one."""
    first = await eventual_env.call(place_order, Order("o7", "book", 1))
    second = await eventual_env.call(place_order, Order("o7", "book", 1))
    assert first == second
    with pytest.raises(HttpError):  # the same id with another order is refused
        await eventual_env.call(place_order, Order("o7", "pen", 5))


async def test_the_http_api_validates_and_routes(eventual_env: TestEnvironment) -> None:
    """Bad input is a 400 naming the field; the order route answers and 404s."""
    response = await eventual_env.http.post(
        "/_rpc/place_order", json={"id": "o8", "item": "book", "quantity": "two"}
    )
    assert response.status_code == 400
    assert response.json()["detail"]["path"] == "input.quantity"
    assert (await eventual_env.http.get("/orders/o8")).json() == {"id": "o8"}
    assert (await eventual_env.http.get("/orders/missing")).status_code == 404


async def test_an_order_id_that_cannot_name_an_execution_is_a_400(
    eventual_env: TestEnvironment,
) -> None:
    """An empty, slashed or 5 MB order id is the client's mistake: 400 naming the problem."""
    for order_id in ("", "a/b", "x" * (5 * 1024 * 1024)):
        response = await eventual_env.http.post(
            "/_rpc/place_order", json={"id": order_id, "item": "book", "quantity": 1}
        )
        assert response.status_code == 400
        assert response.json()["detail"]["path"] == "name"
        assert "invalid execution name" in response.json()["detail"]["problem"]


async def test_the_nightly_restock_runs_once_at_one_in_new_york(
    eventual_env: TestEnvironment,
) -> None:
    """Crossing 01:00 in New York (06:00 UTC in January) runs one restock, which refills."""
    await eventual_env.start(fulfil, Order("o10", "book", 3))
    await eventual_env.run_until_idle()
    assert STOCK["book"] == 7
    tonight = eventual_env.execution("nightly_restock/20260101T060000Z")

    await eventual_env.advance(timedelta(hours=5, minutes=59))  # 00:59 in New York
    with pytest.raises(ExecutionNotFound):
        await tonight.status()
    assert STOCK["book"] == 7

    await eventual_env.advance(timedelta(minutes=1))
    assert await tonight.result() == {"book": 3}
    assert STOCK["book"] == 10
    schedules = (await eventual_env.http.get("/_eventual/schedules")).json()["schedules"]
    assert [(s["workflow"], s["last_run"]) for s in schedules] == [
        ("nightly_restock", "nightly_restock/20260101T060000Z")
    ]

    await eventual_env.advance(timedelta(hours=23, minutes=59))  # no second run that day
    assert (await eventual_env.http.get("/_eventual/schedules")).json()["schedules"][0][
        "last_run"
    ] == "nightly_restock/20260101T060000Z"


@pytest.mark.eventual_service("orders.service", start=datetime(2026, 7, 1, tzinfo=UTC))
async def test_in_summer_the_restock_follows_new_york_daylight_time(
    eventual_env: TestEnvironment,
) -> None:
    """In July 01:00 in New York is 05:00 UTC; a night with nothing missing adds nothing."""
    await eventual_env.advance(timedelta(hours=5))
    assert await eventual_env.execution("nightly_restock/20260701T050000Z").result() == {}
    assert STOCK["book"] == 10


async def test_a_failed_restock_fails_that_night_only(eventual_env: TestEnvironment) -> None:
    """A restock failing all its attempts fails that night's run; the next night runs again."""
    eventual_env.mock(restock).raises(ConnectionError("warehouse unreachable"))
    await eventual_env.advance(timedelta(hours=6, minutes=5))
    first = eventual_env.execution("nightly_restock/20260101T060000Z")
    assert await first.status() is ExecutionStatus.FAILED
    await eventual_env.advance(timedelta(days=1))
    second = eventual_env.execution("nightly_restock/20260102T060000Z")
    assert await second.status() is ExecutionStatus.FAILED


async def test_the_restock_started_by_hand() -> None:
    """With schedules off, a test runs the nightly workflow itself, with None as its input."""
    async with TestEnvironment("orders.service", schedules=False) as env:
        STOCK["pen"] = 40
        handle = await env.start(nightly_restock, None, name="by-hand")
        assert await handle.result() == {"pen": 60}
        assert STOCK["pen"] == 100


@pytest.mark.eventual_service("orders.service", replay=True)
async def test_fulfil_replays_deterministically(eventual_env: TestEnvironment) -> None:
    """Replaying the history at every step reproduces it: the workflow is deterministic."""
    handle = await eventual_env.start(fulfil, Order("o9", "book", 1))
    await eventual_env.run_until_idle()
    await handle.signal(approval, True)
    await eventual_env.advance(timedelta(minutes=5))
    assert await handle.result() == "shipped"


async def test_fulfil() -> None:
    """The test of DESIGN.md's testing section, as written there, on a module path."""
    async with TestEnvironment("orders.service") as env:  # virtual clock, fresh state
        env.mock(reserve_stock).returns(True)  # also .raises(exc), .calls(fn), .completes_async()
        handle = await env.start(fulfil, Order("o1", "book", 1))
        await env.run_until_idle()  # settle all work, no time passes
        assert await handle.status() == ExecutionStatus.RUNNING
        await handle.signal(approval, True)
        await env.advance(timedelta(minutes=5))  # fires due timers in order
        assert await handle.result() == "shipped"
    assert STOCK["book"] == 10  # the mock answered, the real task never ran
