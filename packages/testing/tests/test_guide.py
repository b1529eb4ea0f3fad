"""The examples of docs/testing.md, run as tests; the guide's code blocks are copied from here."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

import pytest

from eventual import (
    HeartbeatTimeout,
    RetryPolicy,
    Timeout,
    WorkflowFailed,
    condition,
    heartbeat,
    signal,
    task,
    workflow,
)
from eventual_testing import ExecutionStillRunning, TestEnvironment

SERVICE = sys.modules[__name__]  # the service under test: here, this very module

# --- a signal that races a timeout ---------------------------------------------------

approval = signal("approval", bool)


@workflow
async def approve_order(order_id: str) -> str:
    try:
        approved = await approval.expect(timeout=timedelta(hours=1))
    except Timeout:
        return "timed out"
    return "approved" if approved else "rejected"


async def test_an_approval_one_second_before_the_deadline_wins() -> None:
    """The signal arrives at 59:59, before the timeout timer fires at 1:00:00."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(approve_order, "o1")
        await env.advance(timedelta(minutes=59, seconds=59))
        await handle.signal(approval, True)
        await env.advance(timedelta(hours=1))
        assert await handle.result() == "approved"


async def test_an_approval_at_the_deadline_loses() -> None:
    """At 1:00:00 the timer fires first; the late signal is kept but never consumed."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(approve_order, "o2")
        await env.advance(timedelta(hours=1))
        await handle.signal(approval, True)
        assert await handle.result() == "timed out"


# --- a retry that succeeds on the third attempt --------------------------------------


@task(retry=RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=10), backoff=2.0))
async def charge_card(order_id: str) -> str:
    raise NotImplementedError("the payment provider is mocked in tests")


@workflow
async def checkout(order_id: str) -> str:
    return await charge_card(order_id)


async def test_the_third_attempt_succeeds_after_two_back_offs() -> None:
    """Attempts run at 0s, 10s and 30s: the back-off doubles on the virtual clock."""
    async with TestEnvironment(SERVICE) as env:
        attempts: list[datetime] = []

        def provider(order_id: str) -> str:
            attempts.append(env.now)
            if len(attempts) < 3:
                raise ConnectionError("provider unavailable")
            return f"receipt for {order_id}"

        charge = env.mock(charge_card)
        charge.calls(provider)
        handle = await env.start(checkout, "o3")
        await env.advance(timedelta(seconds=29))
        assert len(charge.calls) == 2  # the third attempt is due at 30s
        await env.advance(timedelta(seconds=1))
        assert await handle.result() == "receipt for o3"
        start = TestEnvironment.DEFAULT_START
        assert attempts == [start, start + timedelta(seconds=10), start + timedelta(seconds=30)]


async def test_one_shot_answers_give_the_same_sequence() -> None:
    """raises_once twice, then a standing returns: the same story without a function."""
    async with TestEnvironment(SERVICE) as env:
        charge = (
            env.mock(charge_card)
            .raises_once(ConnectionError("down"))
            .raises_once(ConnectionError("still down"))
            .returns("receipt")
        )
        handle = await env.start(checkout, "o4")
        with pytest.raises(ExecutionStillRunning, match="needs time to pass"):
            await handle.result()  # the first retry waits for 10 virtual seconds
        await env.advance(timedelta(seconds=30))
        assert await handle.result() == "receipt"
        assert len(charge.calls) == 3


# --- a heartbeat timeout -------------------------------------------------------------


@task(heartbeat_timeout=timedelta(seconds=30))
async def export_report(report_id: str) -> str:
    await heartbeat("started")
    return f"report {report_id} exported"


@workflow
async def nightly_export(report_id: str) -> str:
    try:
        return await export_report(report_id)
    except HeartbeatTimeout:
        return "worker lost"


async def test_a_worker_that_stops_beating_times_out() -> None:
    """The attempt stays open without beats; at 30 seconds the workflow sees HeartbeatTimeout."""
    async with TestEnvironment(SERVICE) as env:
        export = env.mock(export_report).completes_async()  # a worker that went silent
        handle = await env.start(nightly_export, "r1")
        await env.advance(timedelta(seconds=29))
        assert len(export.tokens) == 1
        await env.advance(timedelta(seconds=1))
        assert await handle.result() == "worker lost"
        # A completion that arrives after the timeout is ignored.
        await env.complete_task(export.tokens[0], "too late")
        assert await handle.result() == "worker lost"


async def test_a_worker_that_finishes_in_time_succeeds() -> None:
    """Completed within the heartbeat window, the attempt succeeds."""
    async with TestEnvironment(SERVICE) as env:
        export = env.mock(export_report).completes_async()
        handle = await env.start(nightly_export, "r2")
        await env.advance(timedelta(seconds=20))
        await env.complete_task(export.tokens[0], "exported")
        assert await handle.result() == "exported"


# --- a 30-day reminder loop ----------------------------------------------------------

payment = signal("payment", float)


@task
async def send_reminder(invoice_id: str, day: int) -> None:
    raise NotImplementedError("e-mail is mocked in tests")


@workflow
async def invoice_reminders(invoice_id: str) -> int:
    paid = False

    def on_payment(amount: float) -> None:
        nonlocal paid
        paid = True

    payment.on(on_payment)
    for day in range(1, 31):
        if await condition(lambda: paid, timeout=timedelta(days=1)):
            return day - 1  # reminders sent before the payment
        await send_reminder(invoice_id, day)
    return 30


async def test_an_unpaid_invoice_gets_a_reminder_every_day_for_30_days() -> None:
    """Thirty virtual days pass in milliseconds; one reminder per day, in order."""
    async with TestEnvironment(SERVICE) as env:
        reminders = env.mock(send_reminder).returns(None)
        handle = await env.start(invoice_reminders, "inv-1")
        await env.advance(timedelta(days=30))
        assert await handle.result() == 30
        assert [c.args for c in reminders.calls] == [("inv-1", day) for day in range(1, 31)]


async def test_a_payment_on_day_ten_stops_the_reminders() -> None:
    """Paid halfway through day 11: ten reminders were sent, none after."""
    async with TestEnvironment(SERVICE) as env:
        reminders = env.mock(send_reminder).returns(None)
        handle = await env.start(invoice_reminders, "inv-2")
        await env.advance(timedelta(days=10, hours=12))
        await handle.signal(payment, 120.0)
        await env.run_until_idle()
        assert await handle.result() == 10
        assert len(reminders.calls) == 10


# --- failures that read well ---------------------------------------------------------


@task
async def refund(order_id: str) -> None:
    raise ValueError(f"order {order_id} was never charged")


@workflow
async def cancel_order(order_id: str) -> None:
    await refund(order_id)


async def test_a_failure_shows_the_history_around_it() -> None:
    """WorkflowFailed carries a note with the failing call and its neighbours."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(cancel_order, "o5")
        with pytest.raises(WorkflowFailed) as failed:
            await handle.result()
        (note,) = failed.value.__notes__
        assert "seq 1    TaskFailed" in note
        assert "order o5 was never charged" in note


# --- the guide shows this code --------------------------------------------------------


def _normalized(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())


def test_every_code_block_of_the_guide_is_tested() -> None:
    """Each python block of docs/testing.md is a verbatim part of this module or the example's."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    guide = (root / "docs" / "testing.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, re.DOTALL)
    tested = [Path(__file__), root / "examples" / "orders" / "tests" / "test_service.py"]
    source = "\n".join(_normalized(path.read_text(encoding="utf-8")) for path in tested)
    assert len(blocks) >= 10
    missing = [block for block in blocks if _normalized(block) not in source]
    assert missing == []
