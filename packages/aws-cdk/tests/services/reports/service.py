"""A service with scheduled workflows: a weekday report in Paris and a sweep every 90 minutes."""

from __future__ import annotations

from datetime import timedelta

from eventual import Schedule, workflow


@workflow(schedule=Schedule.cron("0 9 * * MON-FRI", tz="Europe/Paris"))
async def weekday_report() -> str:
    """Write the weekday report."""
    return "reported"


@workflow(schedule=Schedule.every(timedelta(minutes=90), overlap="buffer_one"))
async def sweep() -> str:
    """Sweep what is left over."""
    return "swept"
