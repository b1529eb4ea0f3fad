"""Tests for when the simulator runs an EventBridge Scheduler expression."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventual_aws._simulator._recurring import UnsupportedExpression, recurrence

START = datetime(2026, 1, 1, tzinfo=UTC)


def _times(expression: str, zone: str, after: datetime, count: int) -> list[datetime]:
    schedule = recurrence(expression, zone, start=START)
    found: list[datetime] = []
    moment = after
    for _ in range(count):
        following = schedule.next_after(moment)
        assert following is not None
        found.append(following)
        moment = following
    return found


def test_cron_runs_at_wall_times_of_its_time_zone() -> None:
    """Weekdays at nine in Paris are 08:00 UTC in winter and 07:00 UTC in summer."""
    winter = _times("cron(0 9 ? * MON-FRI *)", "Europe/Paris", datetime(2026, 1, 2, tzinfo=UTC), 2)
    assert winter == [
        datetime(2026, 1, 2, 8, tzinfo=UTC),  # a Friday
        datetime(2026, 1, 5, 8, tzinfo=UTC),  # the Monday after
    ]
    summer = _times("cron(0 9 ? * MON-FRI *)", "Europe/Paris", datetime(2026, 7, 1, tzinfo=UTC), 1)
    assert summer == [datetime(2026, 7, 1, 7, tzinfo=UTC)]


def test_a_wall_time_daylight_saving_skips_does_not_run() -> None:
    """At 02:30 New York time nothing runs on the day clocks jump from 2 to 3."""
    found = _times(
        "cron(30 2 * * ? *)", "America/New_York", datetime(2026, 3, 7, 12, tzinfo=UTC), 2
    )
    assert found == [
        datetime(2026, 3, 9, 6, 30, tzinfo=UTC),  # 02:30 EDT on the 9th; the 8th has no 02:30
        datetime(2026, 3, 10, 6, 30, tzinfo=UTC),
    ]


def test_a_wall_time_daylight_saving_repeats_runs_once() -> None:
    """01:30 New York time runs once on the day clocks fall back, not twice."""
    found = _times(
        "cron(30 1 * * ? *)", "America/New_York", datetime(2026, 10, 31, 12, tzinfo=UTC), 2
    )
    assert found == [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT
        datetime(2026, 11, 2, 6, 30, tzinfo=UTC),  # 01:30 EST the next day
    ]


def test_a_rate_counts_elapsed_time_from_its_start() -> None:
    """rate(2 hours) runs at its start and every two hours after, whatever the time zone."""
    schedule = recurrence("rate(2 hours)", "America/New_York", start=START)
    assert schedule.next_after(START - timedelta(seconds=1)) == START
    assert schedule.next_after(START) == START + timedelta(hours=2)
    assert schedule.next_after(START + timedelta(hours=5)) == START + timedelta(hours=6)
    daily = recurrence("rate(1 day)", "UTC", start=START)
    assert daily.next_after(START) == START + timedelta(days=1)


def test_a_one_time_schedule_runs_once() -> None:
    """at() is due once, at its wall time in its zone, and never after."""
    once = recurrence("at(2026-02-01T09:00:00)", "Europe/Paris", start=START)
    due = datetime(2026, 2, 1, 8, tzinfo=UTC)
    assert once.next_after(START) == due
    assert once.next_after(due) is None


@pytest.mark.parametrize(
    "expression",
    ["cron(0 9 15W * ? *)", "cron(0 9 ? * 2#1,3 *)", "cron(0 9 * * * *)", "rate(5 weeks)", "soon"],
)
def test_what_the_simulator_does_not_run_is_refused(expression: str) -> None:
    """W, # in a list, two open day fields or an unknown expression are refused, not guessed."""
    with pytest.raises(UnsupportedExpression):
        recurrence(expression, "UTC", start=START)


def test_last_days_and_nth_weekdays_run_when_they_fall() -> None:
    """L, LW, 6L and 6#2 run on the month's last day, last weekday, last and second Friday."""
    after = datetime(2026, 1, 1, tzinfo=UTC)
    assert _times("cron(0 9 L * ? *)", "UTC", after, 2) == [
        datetime(2026, 1, 31, 9, tzinfo=UTC),
        datetime(2026, 2, 28, 9, tzinfo=UTC),
    ]
    assert _times("cron(0 9 LW * ? *)", "UTC", after, 1) == [datetime(2026, 1, 30, 9, tzinfo=UTC)]
    assert _times("cron(0 9 ? * 6L *)", "UTC", after, 1) == [datetime(2026, 1, 30, 9, tzinfo=UTC)]
    assert _times("cron(0 9 ? * 6#2 *)", "UTC", after, 1) == [datetime(2026, 1, 9, 9, tzinfo=UTC)]
