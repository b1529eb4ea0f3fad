"""The examples of docs/workflows.md, each one exercised on the virtual clock.

The python blocks of the guide are verbatim parts of this module; the last test
checks that they stay so.
"""

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from eventual import (
    ExecutionAlreadyExists,
    ExecutionStatus,
    HeartbeatTimeout,
    RetryPolicy,
    TaskError,
    Timeout,
    WorkflowFailed,
    complete_async,
    complete_task,
    condition,
    event,
    execution_info,
    fail_task,
    heartbeat,
    now,
    random,
    signal,
    sleep,
    sleep_until,
    task,
    task_info,
    uuid4,
    workflow,
)
from eventual_engine import LocalRuntime, load_service, replay
from eventual_testing import TestEnvironment

SERVICE = sys.modules[__name__]  # the service: here, this very module

# --- workflows -----------------------------------------------------------------------


@attrs.frozen
class Order:
    id: str
    item: str
    quantity: int


@task
async def reserve_stock(item: str, quantity: int) -> bool:
    return quantity <= 10  # a real service would ask the warehouse


@workflow
async def place_order(order: Order) -> str:
    if not await reserve_stock(order.item, order.quantity):
        return "out of stock"
    return f"order {order.id} placed"


async def test_an_execution_is_started_once_per_name() -> None:
    """The same name and input give the same execution; another input is refused."""
    async with TestEnvironment(SERVICE):
        handle = await place_order.start(Order("o1", "book", 1), name="o1")
        assert handle.id == "place_order/o1"
        again = await place_order.start(Order("o1", "book", 1), name="o1")
        assert again.id == handle.id
        with pytest.raises(ExecutionAlreadyExists):
            await place_order.start(Order("o1", "pen", 2), name="o1")
        assert await handle.result() == "order o1 placed"
        assert await handle.status() is ExecutionStatus.SUCCEEDED
        assert [e.type for e in await handle.history()] == [
            "WorkflowStarted",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "WorkflowSucceeded",
        ]


@workflow
async def refuse_order(order: Order) -> str:
    raise ValueError(f"order {order.id} is not allowed")


async def test_an_exception_fails_the_execution() -> None:
    """An exception the workflow does not catch fails it; result() raises WorkflowFailed."""
    async with TestEnvironment(SERVICE):
        handle = await refuse_order.start(Order("o2", "book", 1))
        with pytest.raises(WorkflowFailed) as failed:
            await handle.result()
        assert failed.value.error_type == "ValueError"
        assert failed.value.message == "order o2 is not allowed"
        assert await handle.status() is ExecutionStatus.FAILED


# --- tasks ---------------------------------------------------------------------------


@task
def make_thumbnail(path: str, width: int) -> str:
    # A plain def runs in a worker thread: blocking calls do not stall other work.
    return f"{path}?width={width}"


@workflow
async def thumbnails(path: str) -> list[str]:
    return [await make_thumbnail(path, width) for width in (64, 256)]


async def test_a_plain_def_task_runs_in_a_thread() -> None:
    """A plain def task is awaited from the workflow like an async one."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(thumbnails, "cat.png")
        assert await handle.result() == ["cat.png?width=64", "cat.png?width=256"]


class PaymentDeclined(Exception):
    """The card was refused: trying again will not help."""


@task(
    timeout=timedelta(seconds=30),
    retry=RetryPolicy(
        max_attempts=5,
        initial_interval=timedelta(seconds=1),
        backoff=2.0,
        max_interval=timedelta(seconds=10),
        non_retryable=(PaymentDeclined,),
    ),
)
async def charge(order_id: str, amount: float) -> str:
    raise NotImplementedError("the payment provider is mocked in tests")


@workflow
async def pay(order_id: str) -> str:
    try:
        return await charge(order_id, 9.99)
    except TaskError as error:
        return f"not paid: {error.error_type}: {error.message}"
    except Timeout:
        return "not paid: the provider did not answer"


async def test_retries_back_off_on_the_clock() -> None:
    """Four failures, then success: the attempts run at 0, 1, 3, 7 and 15 seconds."""
    async with TestEnvironment(SERVICE) as env:
        provider = env.mock(charge).returns("receipt")
        for _ in range(4):
            provider.raises_once(ConnectionError("provider unavailable"))
        handle = await env.start(pay, "o3")
        await env.advance(timedelta(seconds=14))
        assert len(provider.calls) == 4
        await env.advance(timedelta(seconds=1))
        assert await handle.result() == "receipt"
        assert len(provider.calls) == 5


async def test_a_non_retryable_error_fails_at_once() -> None:
    """PaymentDeclined is not retried: the workflow sees TaskError after one attempt."""
    async with TestEnvironment(SERVICE) as env:
        provider = env.mock(charge).raises(PaymentDeclined("card refused"))
        handle = await env.start(pay, "o4")
        assert await handle.result() == "not paid: PaymentDeclined: card refused"
        assert len(provider.calls) == 1


async def test_a_timeout_is_a_failed_attempt() -> None:
    """Each attempt that runs past 30 seconds is retried; after the fifth, Timeout."""
    async with TestEnvironment(SERVICE) as env:
        provider = env.mock(charge).completes_async()  # no attempt ever answers
        handle = await env.start(pay, "o5")
        await env.advance(timedelta(seconds=5 * 30 + 1 + 2 + 4 + 8))
        assert await handle.result() == "not paid: the provider did not answer"
        assert len(provider.calls) == 5


@task(timeout=timedelta(hours=1), heartbeat_timeout=timedelta(minutes=1))
async def import_rows(rows: int) -> int:
    imported = 0
    for start in range(0, rows, 1000):
        imported += len(range(start, min(start + 1000, rows)))  # one batch of real work
        await heartbeat({"imported": imported})
    return imported


@workflow
async def nightly_import(rows: int) -> str:
    try:
        return f"imported {await import_rows(rows)} rows"
    except HeartbeatTimeout:
        return "the importer went silent"


async def test_heartbeats_keep_a_long_task_alive() -> None:
    """A task that beats between batches succeeds."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(nightly_import, 2500)
        assert await handle.result() == "imported 2500 rows"


async def test_a_silent_task_times_out() -> None:
    """A task that stops beating fails with HeartbeatTimeout after one minute."""
    async with TestEnvironment(SERVICE) as env:
        env.mock(import_rows).completes_async()  # a worker that died after starting
        handle = await env.start(nightly_import, 2500)
        await env.advance(timedelta(minutes=1))
        assert await handle.result() == "the importer went silent"


review_queue: list[str] = []  # stands in for a ticket system


@task
async def manual_review(order_id: str) -> bool:
    review_queue.append(task_info().token)  # hand the token to the outside world
    complete_async()  # the task stays open until someone completes or fails it


@workflow
async def review_order(order_id: str) -> str:
    try:
        return "approved" if await manual_review(order_id) else "rejected"
    except TaskError as error:
        return f"review failed: {error.error_type}: {error.message}"


async def test_a_task_completed_from_outside() -> None:
    """complete_task(token, result) finishes the open task; fail_task fails it."""
    async with TestEnvironment(SERVICE) as env:
        review_queue.clear()
        approved = await env.start(review_order, "o6")
        refused = await env.start(review_order, "o7")
        await env.run_until_idle()  # both tasks ran and are waiting
        await complete_task(review_queue[0], True)
        await fail_task(review_queue[1], PermissionError("reviewer left"))
        assert await approved.result() == "approved"
        assert await refused.result() == "review failed: PermissionError: reviewer left"


sent_receipts: dict[str, str] = {}  # stands in for a mail provider that dedupes by key


@task(retry=RetryPolicy(max_attempts=3))
async def send_receipt(order_id: str) -> None:
    info = task_info()
    # The same key for every attempt and every redelivery of this call.
    key = f"{info.execution_id}/receipt"
    sent_receipts.setdefault(key, f"receipt for {order_id}, attempt {info.attempt}")


@workflow
async def receipt(order_id: str) -> None:
    await send_receipt(order_id)


async def test_an_idempotency_key_from_the_execution() -> None:
    """The key names the execution, so a repeated attempt sends nothing new."""
    async with TestEnvironment(SERVICE):
        sent_receipts.clear()
        await (await receipt.start("o8", name="o8")).result()
        assert sent_receipts == {"receipt/o8/receipt": "receipt for o8, attempt 1"}


# --- timers --------------------------------------------------------------------------


@workflow
async def trial(user: str) -> list[str]:
    steps = [f"{now():%b %d %H:%M:%S} trial of {user} starts"]
    await sleep(timedelta(days=14))
    steps.append(f"{now():%b %d %H:%M:%S} trial ends")
    nine_tomorrow = (now() + timedelta(days=1)).replace(hour=9, minute=0, second=0)
    await sleep_until(nine_tomorrow)
    steps.append(f"{now():%b %d %H:%M:%S} follow-up mail")
    await asyncio.sleep(30)  # inside a workflow, a durable timer too
    steps.append(f"{now():%b %d %H:%M:%S} done")
    return steps


async def test_timers_fire_at_their_instant() -> None:
    """Sixteen virtual days pass in milliseconds; now() gives each step's time."""
    async with TestEnvironment(SERVICE) as env:  # the clock starts on Jan 01 00:00
        handle = await env.start(trial, "ada")
        await env.advance(timedelta(days=16))
        assert await handle.result() == [
            "Jan 01 00:00:00 trial of ada starts",
            "Jan 15 00:00:00 trial ends",
            "Jan 16 09:00:00 follow-up mail",
            "Jan 16 09:00:30 done",
        ]


# --- signals -------------------------------------------------------------------------


approval = signal("approval", bool)
comment = signal("comment", str)


@attrs.frozen
class Review:
    approved: bool
    comments: list[str]


@workflow
async def publish_document(doc: str) -> Review:
    await sleep(timedelta(hours=1))  # rendering, say; signals sent meanwhile are kept
    comments: list[str] = []
    subscription = comment.on(comments.append)  # kept comments first, in order
    try:
        approved = await approval.expect(timeout=timedelta(days=2))
    except Timeout:
        approved = False
    subscription.dispose()  # comments from now on are kept, not handled
    return Review(approved, comments)


async def test_signals_sent_early_are_kept() -> None:
    """Signals sent before the workflow waits for them are kept, in arrival order."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(publish_document, "spec")
        await env.advance(timedelta(minutes=10))
        await comment.send(handle.id, "typo on page 2")
        await handle.signal(comment, "looks good")
        await handle.signal(approval, True)
        await env.advance(timedelta(hours=1))
        assert await handle.result() == Review(True, ["typo on page 2", "looks good"])


async def test_expect_times_out() -> None:
    """Without an approval, expect raises Timeout after two days."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(publish_document, "draft")
        await env.advance(timedelta(days=2, hours=1))
        assert await handle.result() == Review(False, [])


async def test_a_signal_to_an_ended_execution_is_discarded() -> None:
    """Sending to an execution that has ended does not fail and changes nothing."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(publish_document, "old")
        await env.advance(timedelta(days=3))
        await handle.signal(approval, True)
        assert await handle.status() is ExecutionStatus.SUCCEEDED
        assert await handle.result() == Review(False, [])


stock_arrived = signal("stock_arrived", int)


@workflow
async def backorder(quantity: int) -> str:
    in_stock = 0

    def receive(amount: int) -> None:
        nonlocal in_stock
        in_stock += amount

    stock_arrived.on(receive)
    if await condition(lambda: in_stock >= quantity, timeout=timedelta(days=3)):
        return f"shipped {quantity}"
    return f"gave up with {in_stock} of {quantity}"


async def test_condition_waits_for_a_predicate() -> None:
    """condition() is true once enough stock arrived, False when the timeout passes."""
    async with TestEnvironment(SERVICE) as env:
        filled = await env.start(backorder, 5)
        short = await env.start(backorder, 5)
        for handle in (filled, short):
            await handle.signal(stock_arrived, 3)
        await env.advance(timedelta(days=1))
        await filled.signal(stock_arrived, 2)
        await env.advance(timedelta(days=2))
        assert await filled.result() == "shipped 5"
        assert await short.result() == "gave up with 3 of 5"


# --- child workflows and concurrency -------------------------------------------------


@workflow
async def ship_parcel(item: str) -> str:
    await sleep(timedelta(hours=1))
    return f"{item} shipped"


@workflow
async def ship_order(items: list[str]) -> list[str]:
    first = await ship_parcel(items[0])  # a child: waits for its result
    others = [await ship_parcel.start(item) for item in items[1:]]  # started, not awaited
    return [first, *await asyncio.gather(*(child.result() for child in others))]


async def test_child_workflows() -> None:
    """The first parcel ships before the others start; those ship together."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(ship_order, ["book", "pen", "ink"], name="o9")
        await env.advance(timedelta(hours=2))
        assert await handle.result() == ["book shipped", "pen shipped", "ink shipped"]
        child = env.execution("ship_parcel/o9-1")  # "{parent's name}-{sequence number}"
        assert await child.result() == "book shipped"


@task
async def quote(carrier: str) -> float:
    return {"ups": 12.5, "dhl": 11.0, "fedex": 14.0}[carrier]


@workflow
async def cheapest(carriers: list[str]) -> str:
    prices = await asyncio.gather(*(quote(carrier) for carrier in carriers))
    return min(zip(prices, carriers, strict=True))[1]


@workflow
async def quick_quote(carrier: str) -> str:
    try:
        price = await asyncio.wait_for(quote(carrier), timeout=60)
    except TimeoutError:
        return f"{carrier} did not answer within a minute"
    return f"{carrier}: {price}"


async def test_gather_and_wait_for() -> None:
    """Gather runs the quotes together; wait_for gives up on a durable timer."""
    async with TestEnvironment(SERVICE) as env:
        assert await (await env.start(cheapest, ["ups", "dhl", "fedex"])).result() == "dhl"
        env.mock(quote).completes_async()
        handle = await env.start(quick_quote, "ups")
        await env.advance(timedelta(minutes=1))
        assert await handle.result() == "ups did not answer within a minute"


payment = signal("payment", float)


@task
async def send_reminder(invoice: str, number: int) -> None:
    pass  # a real service sends a mail


@workflow
async def dunning(invoice: str) -> int:
    paid = asyncio.Event()
    payment.on(lambda amount: paid.set())
    reminders = 0

    async def remind_daily() -> None:
        nonlocal reminders
        while True:
            await sleep(timedelta(days=1))
            reminders += 1
            await send_reminder(invoice, reminders)

    reminding = asyncio.create_task(remind_daily())
    await paid.wait()
    reminding.cancel()
    return reminders


async def test_create_task_and_event() -> None:
    """A background loop reminds daily until the payment sets the event."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(dunning, "inv-1")
        await env.advance(timedelta(days=3, hours=12))
        await handle.signal(payment, 120.0)
        assert await handle.result() == 3


# --- cancellation and timeouts -------------------------------------------------------


@task
async def release_stock(item: str) -> None:
    pass  # a real service tells the warehouse


@workflow
async def hold_stock(item: str) -> str:
    await reserve_stock(item, 1)
    try:
        await sleep(timedelta(days=1))  # the customer has a day to pay
    except asyncio.CancelledError:
        await release_stock(item)  # cleanup may still call tasks
        raise
    return "held for a day"


async def test_cancelling_runs_the_cleanup() -> None:
    """cancel() raises CancelledError in the workflow; it releases the stock and ends."""
    async with TestEnvironment(SERVICE) as env:
        release = env.mock(release_stock)
        handle = await env.start(hold_stock, "book")
        await handle.cancel()
        with pytest.raises(WorkflowFailed) as failed:
            await handle.result()
        assert failed.value.error_type == "CancelledError"
        assert await handle.status() is ExecutionStatus.CANCELLED
        assert len(release.calls) == 1


courier = signal("courier", str)


@workflow(timeout=timedelta(hours=4))
async def await_pickup(order_id: str) -> str:
    return f"picked up by {await courier.expect()}"


async def test_a_workflow_timeout_ends_the_execution() -> None:
    """Four hours after the start the execution ends TIMED_OUT."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(await_pickup, "o10")
        await env.advance(timedelta(hours=4))
        assert await handle.status() is ExecutionStatus.TIMED_OUT
        with pytest.raises(WorkflowFailed) as failed:
            await handle.result()
        assert failed.value.error_type == "Timeout"


# --- publishing events ---------------------------------------------------------------


@attrs.frozen
class OrderShipped:
    order_id: str


order_shipped = event("OrderShipped", OrderShipped)


@workflow
async def ship(order_id: str) -> None:
    await sleep(timedelta(hours=1))
    await order_shipped.publish(OrderShipped(order_id))


async def test_a_workflow_publishes_once() -> None:
    """The publish is recorded in the history and delivered once."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(ship, "o11")
        await env.advance(timedelta(hours=1))
        await handle.result()
        assert env.published(order_shipped) == [OrderShipped("o11")]
        assert "EventsPublished" in [e.type for e in await handle.history()]


# --- determinism ---------------------------------------------------------------------


@workflow
async def raffle(entrants: list[str]) -> dict[str, str]:
    winner = entrants[int(random() * len(entrants))]
    return {
        "execution": execution_info().execution_id,
        "winner": winner,
        "ticket": str(uuid4()),
        "drawn at": now().isoformat(),
    }


async def test_random_values_replay_the_same() -> None:
    """An execution of the same id draws the same values, even replayed at every step."""
    results = []
    for _ in range(2):
        async with TestEnvironment(SERVICE, replay=True) as env:
            handle = await env.start(raffle, ["ann", "bob", "cy"], name="spring")
            results.append(await handle.result())
    assert results[0] == results[1]
    assert results[0]["execution"] == "raffle/spring"
    assert results[0]["drawn at"] == "2026-01-01T00:00:00+00:00"


FEATURES = {"fraud_check": False}  # read at run time: NOT safe inside a workflow


@task
async def check_fraud(order_id: str) -> bool:
    return False


@workflow
async def checkout(order_id: str) -> str:
    if FEATURES["fraud_check"] and await check_fraud(order_id):
        return "blocked"
    await sleep(timedelta(minutes=5))
    return "charged"


async def test_changing_what_a_running_execution_calls() -> None:
    """Turning the flag on under a running execution breaks its replay."""
    async with TestEnvironment(SERVICE, replay=True) as env:
        handle = await env.start(checkout, "o12", name="o12")  # records a timer at sequence 1
        FEATURES["fraud_check"] = True
        try:
            await env.advance(timedelta(minutes=5))  # the replay now calls check_fraud
        finally:
            FEATURES["fraud_check"] = False
        with pytest.raises(WorkflowFailed) as failed:
            await handle.result()
        assert failed.value.error_type == "DeterminismError"
        assert failed.value.message == (
            "checkout/o12: nondeterministic workflow code at sequence 1: "
            "the history records a timer, the code now calls task 'check_fraud'"
        )


async def test_checking_code_against_a_recorded_history() -> None:
    """replay() runs today's code against a recorded history, with no side effects."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(checkout, "o13")
        await env.advance(timedelta(minutes=5))
        history = await handle.history()
    assert replay(load_service(SERVICE), history).ok
    FEATURES["fraud_check"] = True
    try:
        result = replay(load_service(SERVICE), history)
    finally:
        FEATURES["fraud_check"] = False
    assert not result.ok
    assert (result.error_seq, result.recorded_call, result.new_call) == (
        1,
        "a timer",
        "task 'check_fraud'",
    )


FRAUD_CHECKS_FROM = datetime(2026, 3, 1, tzinfo=UTC)


@workflow
async def checkout_v2(order_id: str) -> str:
    # started_at is recorded, so a running execution keeps taking the old path.
    if execution_info().started_at >= FRAUD_CHECKS_FROM and await check_fraud(order_id):
        return "blocked"
    await sleep(timedelta(minutes=5))
    return "charged"


async def test_new_calls_only_for_new_executions() -> None:
    """Executions started before the cut-over never call check_fraud."""
    for start, calls in ((datetime(2026, 2, 27, tzinfo=UTC), 0), (FRAUD_CHECKS_FROM, 1)):
        async with TestEnvironment(SERVICE, start=start, replay=True) as env:
            fraud = env.mock(check_fraud)
            handle = await env.start(checkout_v2, "o14")
            await env.advance(timedelta(minutes=5))
            assert await handle.result() == "charged"
            assert len(fraud.calls) == calls


@workflow
async def blocking_in_a_workflow(path: str) -> str:
    return await asyncio.to_thread(Path(path).read_text)


async def test_threads_are_refused_inside_a_workflow() -> None:
    """asyncio.to_thread fails the execution with a message pointing at tasks."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(blocking_in_a_workflow, "/etc/hostname")
        with pytest.raises(WorkflowFailed, match="put blocking code in a @task"):
            await handle.result()


# --- running it ----------------------------------------------------------------------


async def test_the_local_runtime(tmp_path: Path) -> None:
    """LocalRuntime runs the service in this process on a SQLite file."""
    async with LocalRuntime(SERVICE, db=tmp_path / "orders.db") as runtime:
        handle = await runtime.start(place_order, Order("o15", "book", 2), name="o15")
        assert await handle.result() == "order o15 placed"


# --- the guide shows this code -------------------------------------------------------


def _normalized(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())


def test_every_code_block_of_the_guide_is_tested() -> None:
    """Each python block of docs/workflows.md is a verbatim part of this module or its sequels."""
    import re

    root = Path(__file__).resolve().parents[3]
    guide = (root / "docs" / "workflows.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, re.DOTALL)
    source = "\n".join(
        _normalized(path.read_text(encoding="utf-8"))
        for path in (
            Path(__file__),
            Path(__file__).with_name("test_workflows_guide_evolve.py"),
            Path(__file__).with_name("test_workflows_guide_schedules.py"),
        )
    )
    assert len(blocks) >= 20
    missing = [block for block in blocks if _normalized(block) not in source]
    assert missing == []
