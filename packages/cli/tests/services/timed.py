"""A service with scheduled workflows, for `eventual schedules`."""

from __future__ import annotations

from datetime import timedelta

from eventual import Schedule, workflow


@workflow(schedule=Schedule.cron("0 9 * * MON-FRI", tz="Europe/Paris", overlap="buffer_one"))
async def morning_report() -> None:
    """Runs at nine on weekday mornings in Paris."""


@workflow(schedule=Schedule.every(timedelta(days=7), catch_up="skip"))
async def weekly_cleanup() -> None:
    """Runs once a week."""
