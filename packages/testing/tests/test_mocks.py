"""Task and workflow mocks: answers, their order, the call record, asynchronous completion."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from unittest.mock import call

import attrs
import pytest

from eventual import (
    ExecutionStatus,
    RetryPolicy,
    Service,
    TaskError,
    Timeout,
    ValidationError,
    WorkflowFailed,
    command,
    complete_async,
    sleep,
    task,
    workflow,
)
from eventual_testing import TestEnvironment

real_calls: list[str] = []


@attrs.frozen
class Receipt:
    id: str
    amount: int


@task
async def charge(card: str, amount: int) -> Receipt:
    real_calls.append(card)
    return Receipt(id=f"real-{card}", amount=amount)


@task(retry=RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=1)))
async def fetch(url: str, *, retries_left: int = 0) -> str:
    return f"real {url}"


@task(
    heartbeat_timeout=timedelta(seconds=30),
    retry=RetryPolicy(max_attempts=2, initial_interval=timedelta(seconds=10)),
)
async def export(report: str) -> str:
    return f"real {report}"


@task(timeout=timedelta(minutes=10))
async def approve(request: str) -> bool:
    return True


@workflow
async def pay(card: str) -> str:
    receipt = await charge(card, 10)
    return f"{receipt.id}:{receipt.amount}"


@workflow
async def try_pay(card: str) -> str:
    try:
        return await pay(card)  # a child workflow
    except WorkflowFailed as error:
        return f"child failed: {error.error_type}: {error.message}"


@workflow
async def get(url: str) -> str:
    try:
        return await fetch(url, retries_left=2)
    except TaskError as error:
        return f"gave up: {error.message}"


@workflow
async def ask(request: str) -> str:
    try:
        return "approved" if await approve(request) else "refused"
    except TaskError as error:
        return f"failed: {error.error_type}: {error.message}"
    except Timeout:
        return "no answer"


@workflow
async def exports(report: str) -> str:
    return await export(report)


@workflow
async def gets_both(_: None) -> list[str]:
    first, second = await asyncio.gather(fetch("a"), fetch("b"))
    return [first, second]


@command
async def charge_now(card: str) -> int:
    """Calls a task directly, outside any workflow."""
    receipt = await charge(card, 5)
    return receipt.amount


SERVICE = Service.from_definitions(
    "mocks",
    [charge, fetch, export, approve, pay, try_pay, get, ask, exports, gets_both, charge_now],
)


async def test_returns_answers_every_call_and_records_arguments() -> None:
    """returns() answers each call; calls lists unittest.mock.call objects with arguments."""
    real_calls.clear()
    async with TestEnvironment(SERVICE) as env:
        mock = env.mock(charge).returns(Receipt(id="r1", amount=99))
        assert await (await env.start(pay, "visa")).result() == "r1:99"
        assert await (await env.start(pay, "amex")).result() == "r1:99"
    assert mock.calls == [call("visa", 10), call("amex", 10)]
    assert mock.calls[0].args == ("visa", 10)
    assert mock.calls[0].kwargs == {}
    assert real_calls == []


async def test_keyword_arguments_are_recorded_as_kwargs() -> None:
    """Keyword-only parameters appear in call.kwargs."""
    async with TestEnvironment(SERVICE) as env:
        mock = env.mock(fetch).returns("mocked")
        assert await (await env.start(get, "https://x")).result() == "mocked"
    assert mock.calls == [call("https://x", retries_left=2)]


async def test_a_mock_without_answers_spies_on_the_real_code() -> None:
    """A fresh mock records calls and runs the real task."""
    real_calls.clear()
    async with TestEnvironment(SERVICE) as env:
        mock = env.mock(charge)
        assert env.mock(charge) is mock  # one mock per definition
        assert await (await env.start(pay, "visa")).result() == "real-visa:10"
    assert mock.calls == [call("visa", 10)]
    assert real_calls == ["visa"]


async def test_one_shot_answers_come_first_then_the_standing_one() -> None:
    """raises_once/returns_once are used in order, before the standing answer; retries count."""
    async with TestEnvironment(SERVICE) as env:
        mock = (
            env.mock(fetch)
            .raises_once(ConnectionError("down"))
            .raises_once(ConnectionError("still down"))
            .returns("standing")
        )
        handle = await env.start(get, "u")
        await env.advance(timedelta(seconds=10))
        assert await handle.result() == "standing"
        assert len(mock.calls) == 3
        mock.returns_once("once")
        assert await (await env.start(get, "v")).result() == "once"
        assert await (await env.start(get, "w")).result() == "standing"


async def test_setting_a_standing_answer_again_replaces_it() -> None:
    """Returns after raises replaces the standing answer rather than queueing."""
    async with TestEnvironment(SERVICE) as env:
        mock = env.mock(approve).raises(PermissionError("no"))
        assert await (await env.start(ask, "a")).result() == "failed: PermissionError: no"
        mock.returns(False)
        assert await (await env.start(ask, "b")).result() == "refused"


async def test_raises_accepts_an_exception_class() -> None:
    """An exception class is raised as an instance of it."""
    async with TestEnvironment(SERVICE) as env:
        env.mock(approve).raises(LookupError)
        assert await (await env.start(ask, "a")).result() == "failed: LookupError: "
        with pytest.raises(TypeError, match="raises an exception"):
            env.mock(approve).raises("not an exception")  # type: ignore[arg-type]


async def test_retries_exhausted_by_a_mock_fail_the_call() -> None:
    """A standing raises exhausts the retry policy like a real failing task."""
    async with TestEnvironment(SERVICE) as env:
        mock = env.mock(fetch).raises(ConnectionError("down"))
        handle = await env.start(get, "u")
        await env.advance(timedelta(minutes=1))
        assert await handle.result() == "gave up: down"
        assert len(mock.calls) == 3


async def test_calls_runs_a_function_sync_or_async() -> None:
    """mock.calls(fn) answers with fn's result, awaited when it is a coroutine."""
    async with TestEnvironment(SERVICE) as env:
        mock = env.mock(charge)
        mock.calls(lambda card, amount: Receipt(id=card.upper(), amount=amount * 2))
        assert await (await env.start(pay, "visa")).result() == "VISA:20"

        async def slow_charge(card: str, amount: int) -> Receipt:
            return Receipt(id=f"async-{card}", amount=amount)

        assert env.mock(charge).calls(slow_charge) is mock
        assert await (await env.start(pay, "amex")).result() == "async-amex:10"
        assert mock.calls == [call("visa", 10), call("amex", 10)]
        with pytest.raises(TypeError, match="calls a function"):
            mock.calls(42)  # type: ignore[arg-type]


async def test_a_mock_value_of_the_wrong_type_fails_where_it_is_set() -> None:
    """returns() checks the value against the task's result type and names the mock."""
    async with TestEnvironment(SERVICE) as env:
        with pytest.raises(TypeError, match=r"mock of task 'approve' cannot return 'yes'"):
            env.mock(approve).returns("yes")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"mock of task 'charge' cannot return"):
            env.mock(charge).returns_once({"id": 1})  # type: ignore[arg-type]


async def test_completes_async_waits_for_the_test_to_finish_the_task() -> None:
    """An attempt answered by completes_async stays open until complete_task."""
    async with TestEnvironment(SERVICE) as env:
        mock = env.mock(approve).completes_async()
        handle = await env.start(ask, "raise")
        await env.run_until_idle()
        assert await handle.status() is ExecutionStatus.RUNNING
        assert len(mock.tokens) == 1
        await env.complete_task(mock.tokens[0], True)
        assert await handle.result() == "approved"


async def test_complete_task_refuses_a_token_it_did_not_give() -> None:
    """A token without its signature, or with another one, is refused; the given one works."""
    async with TestEnvironment(SERVICE) as env:
        mock = env.mock(approve).completes_async()
        handle = await env.start(ask, "raise")
        await env.run_until_idle()
        [token] = mock.tokens
        attempt, _, mac = token.rpartition("|")
        for forged in [attempt, f"{attempt}|{mac[::-1]}"]:
            with pytest.raises(ValidationError, match="not a valid task token"):
                await env.complete_task(forged, True)
            with pytest.raises(ValidationError, match="not a valid task token"):
                await env.fail_task(forged, "forged")
        assert await handle.status() is ExecutionStatus.RUNNING
        await env.complete_task(token, True)
        assert await handle.result() == "approved"


async def test_fail_task_fails_an_asynchronous_attempt() -> None:
    """fail_task takes an exception or a message and the workflow sees TaskError."""
    async with TestEnvironment(SERVICE) as env:
        mock = env.mock(approve).completes_async()
        first = await env.start(ask, "one")
        second = await env.start(ask, "two")
        await env.run_until_idle()
        await env.fail_task(mock.tokens[0], PermissionError("denied"))
        await env.fail_task(mock.tokens[1], "broken")
        assert await first.result() == "failed: PermissionError: denied"
        assert await second.result() == "failed: TaskError: broken"


async def test_an_open_attempt_still_times_out_on_the_virtual_clock() -> None:
    """The task's timeout applies to an attempt left open by completes_async."""
    async with TestEnvironment(SERVICE) as env:
        env.mock(approve).completes_async()
        handle = await env.start(ask, "slow")
        await env.advance(timedelta(minutes=9, seconds=59))
        assert await handle.status() is ExecutionStatus.RUNNING
        await env.advance(timedelta(seconds=1))
        assert await handle.result() == "no answer"


async def test_complete_task_checks_the_result_type() -> None:
    """Completing a mocked attempt with a value of the wrong type is refused."""
    async with TestEnvironment(SERVICE) as env:
        mock = env.mock(approve).completes_async()
        await env.start(ask, "x")
        await env.run_until_idle()
        with pytest.raises(TypeError, match="cannot return 'maybe'"):
            await env.complete_task(mock.tokens[0], "maybe")


async def test_a_child_workflow_can_be_mocked() -> None:
    """env.mock(workflow) answers executions of a child workflow; the parent sees the result."""
    async with TestEnvironment(SERVICE) as env:
        child = env.mock(pay).returns_once("mocked child").raises(RuntimeError("card declined"))
        assert await (await env.start(try_pay, "visa")).result() == "mocked child"
        assert await (await env.start(try_pay, "amex")).result() == (
            "child failed: RuntimeError: card declined"
        )
        assert child.calls == [call("visa"), call("amex")]
        with pytest.raises(TypeError, match="mock of workflow 'pay' cannot return 3"):
            child.returns(3)  # type: ignore[arg-type]


async def test_a_workflow_mock_can_run_a_function_as_the_workflow() -> None:
    """calls(fn) on a workflow mock runs fn with the input inside the execution."""
    async with TestEnvironment(SERVICE) as env:
        env.mock(pay).calls(lambda card: f"paid with {card}")
        assert await (await env.start(try_pay, "visa")).result() == "paid with visa"
        # The top-level execution of a mocked workflow is answered the same way.
        assert await (await env.start(pay, "amex")).result() == "paid with amex"


async def test_mocks_are_per_environment() -> None:
    """A mock set in one environment does not leak into the next."""
    real_calls.clear()
    async with TestEnvironment(SERVICE) as env:
        env.mock(charge).returns(Receipt(id="m", amount=1))
    async with TestEnvironment(SERVICE) as env:
        assert await (await env.start(pay, "visa")).result() == "real-visa:10"
    assert real_calls == ["visa"]


async def test_parallel_calls_take_one_shot_answers_in_call_order() -> None:
    """Two calls in asyncio.gather take the queued answers in the order the workflow made them."""
    async with TestEnvironment(SERVICE) as env:
        mock = env.mock(fetch).returns_once("first").returns_once("second")
        assert await (await env.start(gets_both, None)).result() == ["first", "second"]
        # Arguments are recorded as the task received them: defaults filled in.
        assert mock.calls == [call("a", retries_left=0), call("b", retries_left=0)]


async def test_a_workflow_mock_answers_once_per_execution_under_replay() -> None:
    """Replaying a mocked execution reuses its answer: no extra call, no one-shot taken."""

    async def slow_pay(card: str) -> str:
        await sleep(timedelta(seconds=1))
        await sleep(timedelta(seconds=1))
        return f"slow {card}"

    async with TestEnvironment(SERVICE, replay=True) as env:
        mock = env.mock(pay).calls(slow_pay).returns_once("quick")
        first = await env.start(pay, "visa")  # takes the one-shot answer
        second = await env.start(pay, "amex")  # runs slow_pay, replayed at every step
        third = await env.start(pay, "jcb")
        await env.run_until_idle()
        mock.returns_once("late")  # queued while "amex" and "jcb" are mid-way
        await env.advance(timedelta(seconds=5))
        assert await first.result() == "quick"
        assert await second.result() == "slow amex"
        assert await third.result() == "slow jcb"
        assert mock.calls == [call("visa"), call("amex"), call("jcb")]
        assert await (await env.start(pay, "diners")).result() == "late"


async def test_a_mock_set_mid_execution_does_not_change_it_on_replay() -> None:
    """An execution that began with the real workflow keeps it when a mock is set later."""
    async with TestEnvironment(SERVICE, replay=True) as env:
        charging = env.mock(charge).completes_async()
        handle = await env.start(pay, "visa")
        await env.run_until_idle()  # the real workflow code waits for the charge
        env.mock(pay).returns("mocked")
        await env.complete_task(charging.tokens[0], Receipt(id="r", amount=1))
        assert await handle.result() == "r:1"
        assert await (await env.start(pay, "amex")).result() == "mocked"


async def test_a_missed_heartbeat_is_retried_after_the_back_off() -> None:
    """An attempt that goes silent times out at 30s; the retry runs 10s later, at 40s."""
    async with TestEnvironment(SERVICE) as env:
        attempts: list[datetime] = []

        def silent_once(report: str) -> str:
            attempts.append(env.now)
            if len(attempts) == 1:
                complete_async()  # never finished: no heartbeat either
            return f"mocked {report}"

        env.mock(export).calls(silent_once)
        handle = await env.start(exports, "daily")
        await env.advance(timedelta(seconds=39))
        assert len(attempts) == 1
        await env.advance(timedelta(seconds=1))
        assert await handle.result() == "mocked daily"
        start = TestEnvironment.DEFAULT_START
        assert attempts == [start, start + timedelta(seconds=40)]


async def test_a_task_called_outside_a_workflow_is_mocked_too() -> None:
    """A command calling a task directly gets the mock's answer, recorded like any call."""
    real_calls.clear()
    async with TestEnvironment(SERVICE) as env:
        assert await env.call(charge_now, "visa") == 5  # no mock: the real code
        assert real_calls == ["visa"]
        mock = env.mock(charge).returns(Receipt(id="m", amount=42))
        assert await env.call(charge_now, "amex") == 42
        assert mock.calls == [call("amex", 5)]
    assert real_calls == ["visa"]
