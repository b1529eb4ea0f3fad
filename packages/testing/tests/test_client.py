"""The environment's client: results settle first and never wait for virtual time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventual import ExecutionStatus, Service, WorkflowFailed, signal, sleep, workflow
from eventual_testing import ExecutionStillRunning, TestEnvironment

go = signal("go", str)


@workflow
async def two_sleepers(hours: int) -> None:
    await sleep(timedelta(hours=hours))
    await sleep(timedelta(hours=hours))


@workflow
async def waits_for_go(_: None) -> str:
    return await go.expect()


@workflow(timeout=timedelta(days=1))
async def too_slow(_: None) -> None:
    await sleep(timedelta(days=2))


SERVICE = Service.from_definitions("client", [go, two_sleepers, waits_for_go, too_slow])


async def test_result_raises_instead_of_waiting_for_virtual_time() -> None:
    """A result that needs time to pass names the next timer and how to move the clock."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(two_sleepers, 2)
        with pytest.raises(ExecutionStillRunning) as still:
            await handle.result()
        due = TestEnvironment.DEFAULT_START + timedelta(hours=2)
        assert still.value.execution_id == handle.id
        assert still.value.next_due == due
        message = str(still.value)
        assert due.isoformat() in message
        assert "env.advance(timedelta(seconds=7200))" in message
        assert "TimerScheduled" in message


async def test_result_raises_when_only_the_test_can_unblock() -> None:
    """An execution waiting for a signal, with no timer, says nothing will change by itself."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(waits_for_go, None)
        with pytest.raises(ExecutionStillRunning, match="no timer is set") as still:
            await handle.result()
        assert still.value.next_due is None
        assert "send a signal" in str(still.value)


async def test_result_settles_pending_work_first() -> None:
    """result() runs work that needs no time, so a just-signalled execution finishes."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(waits_for_go, None)
        await handle.signal(go, "now")  # nothing processed yet
        assert await handle.status() is ExecutionStatus.RUNNING
        assert await handle.result() == "now"


async def test_a_timed_out_execution_raises_workflow_failed_with_a_note() -> None:
    """A workflow timeout is a WorkflowFailed whose note shows the history."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(too_slow, None, name="slow")
        await env.advance(timedelta(days=1))
        with pytest.raises(WorkflowFailed) as failed:
            await handle.result()
        assert await handle.status() is ExecutionStatus.TIMED_OUT
    assert failed.value.error_type == "Timeout"
    (note,) = failed.value.__notes__
    assert "execution 'too_slow/slow' of workflow 'too_slow'" in note
    assert "TIMED_OUT" in note
