"""The stored format every backend shares: SPI values as JSON text, times as integers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from eventual import ValidationError
from eventual.spi import (
    TaskRequest,
    TimerRequest,
    dump_task,
    dump_timer,
    from_micros,
    load_task,
    load_timer,
    micros,
)


def test_micros_round_trip_exactly_and_sort_like_the_times() -> None:
    """Any aware datetime, whatever its offset, comes back as the same instant."""
    paris = timezone(timedelta(hours=1))
    times = [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 12, 4, 12, 0, 0, 1, tzinfo=paris),
    ]
    assert [from_micros(micros(t)) for t in times] == times
    assert sorted(times, key=micros) == times


def test_a_naive_datetime_is_refused() -> None:
    """A time without a zone cannot be stored: the error names it."""
    with pytest.raises(ValueError, match="timezone-aware"):
        micros(datetime(2026, 1, 1))


def test_task_and_timer_requests_round_trip() -> None:
    """A task request keeps its plain-JSON arguments; a timer request every field."""
    task = TaskRequest(
        token="wf/a|1|1",
        execution_id="wf/a",
        seq=1,
        task="t",
        args=[{"nested": [1, "x", None]}],
        not_before=datetime(2026, 1, 1, tzinfo=UTC),
        timeout=timedelta(seconds=3),
    )
    assert load_task(dump_task(task)) == task
    timer = TimerRequest(
        id="wf/a|t|2", execution_id="wf/a", due=datetime(2026, 1, 2, tzinfo=UTC), kind="timer"
    )
    assert load_timer(dump_timer(timer)) == timer


def test_text_that_is_not_a_task_request_is_refused() -> None:
    """Stored text that is not a task request fails with a validation error naming it."""
    with pytest.raises(ValidationError, match="expected a task request"):
        load_task('{"token": "x"}')
