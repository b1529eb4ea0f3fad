"""The examples of docs/workflows.md's "Schedules", on the virtual clock.

A sequel of ``test_workflows_guide.py``, whose last test checks that the
guide's python blocks are verbatim parts of these modules.
"""

import sys
from datetime import timedelta

import pytest

from eventual import (
    ExecutionNotFound,
    ExecutionStatus,
    Schedule,
    execution_info,
    logger,
    sleep,
    workflow,
)
from eventual_testing import TestEnvironment

SERVICE = sys.modules[__name__]  # the service: here, this very module


@workflow(schedule=Schedule.cron("0 9 * * MON-FRI", tz="Europe/Paris"))
async def morning_report() -> None:
    logger.info("morning report of %s", execution_info().name)


@workflow(schedule=Schedule.every(timedelta(hours=6), overlap="buffer_one", catch_up="skip"))
async def refresh_prices() -> None:
    await sleep(timedelta(hours=7))  # sometimes longer than the interval


async def test_the_report_runs_on_weekday_mornings() -> None:
    """From Thursday 1 January 2026, a week has five reports, at 09:00 in Paris."""
    async with TestEnvironment(SERVICE) as env:  # the clock starts at 2026-01-01T00:00Z
        await env.advance(timedelta(days=7))
        monday = env.execution("morning_report/20260105T080000Z")  # 09:00 in Paris
        assert await monday.status() is ExecutionStatus.SUCCEEDED
        with pytest.raises(ExecutionNotFound):
            await env.execution("morning_report/20260103T080000Z").status()  # Saturday


async def test_a_run_that_outlasts_the_interval_buffers_the_next() -> None:
    """With buffer_one, the 12:00 run starts when the 06:00 one ends, at 13:00."""
    async with TestEnvironment(SERVICE) as env:
        await env.advance(timedelta(hours=13, minutes=5))
        noon = env.execution("refresh_prices/20260101T120000Z")
        assert await noon.status() is ExecutionStatus.RUNNING
        history = await noon.history()
        assert history[0].timestamp.hour == 13


async def test_start_a_scheduled_workflow_directly() -> None:
    """With schedules off, a test starts the workflow itself, with None as its input."""
    async with TestEnvironment(SERVICE, schedules=False) as env:
        handle = await env.start(morning_report, None, name="by-hand")
        await handle.result()
        assert await handle.status() is ExecutionStatus.SUCCEEDED
