"""Tests for ``Schedule``: validation, next fire times (DST included), JSON, decoration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventual import Schedule, Service, workflow

PARIS = ZoneInfo("Europe/Paris")


def test_cron_and_every_keep_their_options() -> None:
    """A schedule names its expression, zone and policies as written."""
    cron = Schedule.cron("0  9 * * MON-FRI", tz="Europe/Paris", overlap="allow", catch_up="skip")
    assert (cron.kind, cron.expression, cron.tz) == ("cron", "0 9 * * MON-FRI", "Europe/Paris")
    assert (cron.overlap, cron.catch_up, cron.interval) == ("allow", "skip", None)
    every = Schedule.every(timedelta(hours=6))
    assert (every.kind, every.interval, every.tz) == ("every", timedelta(hours=6), "UTC")
    assert (every.overlap, every.catch_up) == ("skip", "once")
    assert Schedule.every(120).interval == timedelta(minutes=2)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Schedule.cron("0 9 * *"), "'0 9 \\* \\*'.*five fields"),
        (lambda: Schedule.cron("0 25 * * *"), "'0 25 \\* \\* \\*'.*Bad hour"),
        (lambda: Schedule.cron("0 9 * * *", tz="Mars/Olympus"), "'Mars/Olympus'"),
        (lambda: Schedule.every(timedelta(seconds=30)), "0:00:30.*whole number of minutes"),
        (lambda: Schedule.every(timedelta(seconds=90)), "0:01:30.*whole number of minutes"),
        (lambda: Schedule.every(timedelta(hours=1), overlap="queue"), "overlap.*'queue'"),  # type: ignore[arg-type]
        (lambda: Schedule.cron("* * * * *", catch_up="all"), "catch_up.*'all'"),  # type: ignore[arg-type]
    ],
)
def test_invalid_schedules_name_the_value(build: object, message: str) -> None:
    """An invalid expression, zone, interval or policy is an error naming it."""
    assert callable(build)
    with pytest.raises(ValueError, match=message):
        build()


def test_every_is_aligned_on_the_epoch_in_utc() -> None:
    """Every six hours fires at 00, 06, 12 and 18 UTC, whatever the starting instant."""
    every = Schedule.every(timedelta(hours=6))
    start = datetime(2026, 12, 5, 7, 31, 12, tzinfo=UTC)
    assert every.next_after(start) == datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert every.next_after(datetime(2026, 12, 5, 12, tzinfo=UTC)) == datetime(
        2026, 12, 5, 18, tzinfo=UTC
    )
    assert every.last_at_or_before(start) == datetime(2026, 12, 5, 6, tzinfo=UTC)


def test_cron_reads_the_expression_in_its_zone() -> None:
    """Nine on weekdays in Paris is 08:00 UTC in winter, and Friday is followed by Monday."""
    cron = Schedule.cron("0 9 * * MON-FRI", tz="Europe/Paris")
    friday = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert cron.next_after(datetime(2026, 12, 4, 7, 0, tzinfo=UTC)) == friday
    assert cron.next_after(friday) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert cron.last_at_or_before(datetime(2026, 12, 6, tzinfo=UTC)) == friday
    assert cron.last_at_or_before(friday) == friday


def test_cron_across_daylight_saving_changes_in_paris() -> None:
    """A job in the skipped hour runs once just after it; one in the repeated hour runs once."""
    cron = Schedule.cron("30 2 * * *", tz="Europe/Paris")
    # 2026-03-29: 02:00 local jumps to 03:00; the 02:30 job runs at 03:00 (01:00 UTC).
    spring = cron.next_after(datetime(2026, 3, 28, 12, tzinfo=UTC))
    assert spring == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert cron.next_after(spring) == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)
    # 2026-10-25: 03:00 local falls back to 02:00; 02:30 happens twice, the job runs once.
    autumn = cron.next_after(datetime(2026, 10, 24, 12, tzinfo=UTC))
    assert autumn == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert cron.next_after(autumn) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)
    # Nine o'clock stays nine o'clock local: 07:00 UTC in summer, 08:00 UTC in winter.
    nine = Schedule.cron("0 9 * * *", tz="Europe/Paris")
    assert nine.next_after(datetime(2026, 3, 29, tzinfo=UTC)).hour == 7
    assert nine.next_after(datetime(2026, 3, 28, tzinfo=UTC)).hour == 8


@given(
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    )
)
def test_next_after_is_strictly_increasing_and_matches(start: datetime) -> None:
    """Successive fire times increase strictly and are all 09:00 on a weekday in Paris."""
    cron = Schedule.cron("0 9 * * MON-FRI", tz="Europe/Paris")
    previous = start
    for _ in range(8):
        fire = cron.next_after(previous)
        assert fire > previous
        assert fire.tzinfo is UTC
        local = fire.astimezone(PARIS)
        assert (local.hour, local.minute, local.second) == (9, 0, 0)
        assert local.weekday() < 5
        assert cron.last_at_or_before(fire) == fire
        previous = fire


@given(st.integers(min_value=1, max_value=60 * 24 * 7), st.datetimes(timezones=st.just(UTC)))
def test_every_fires_on_multiples_of_its_interval(minutes: int, start: datetime) -> None:
    """An interval schedule's next fire time is the next multiple of it after the epoch."""
    every = Schedule.every(timedelta(minutes=minutes))
    fire = every.next_after(start)
    assert start < fire <= start + timedelta(minutes=minutes)
    assert (fire - datetime(1970, 1, 1, tzinfo=UTC)) % timedelta(minutes=minutes) == timedelta(0)


def test_next_after_needs_an_aware_time() -> None:
    """A naive instant is refused, naming it."""
    with pytest.raises(ValueError, match=r"timezone-aware.*2026"):
        Schedule.every(60).next_after(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    "schedule",
    [
        Schedule.cron("0 9 * * MON-FRI", tz="Europe/Paris", overlap="buffer_one"),
        Schedule.every(timedelta(hours=6), catch_up="skip"),
    ],
)
def test_json_round_trip(schedule: Schedule) -> None:
    """A schedule written as JSON reads back equal."""
    assert Schedule.from_json(schedule.to_json()) == schedule


def test_from_json_refuses_unknown_formats() -> None:
    """A document of another format, or one missing a field, is a ValueError naming it."""
    with pytest.raises(ValueError, match="format"):
        Schedule.from_json({"format": 99})
    whole = Schedule.every(timedelta(hours=1)).to_json()
    del whole["overlap"]
    with pytest.raises(ValueError, match="'overlap'"):
        Schedule.from_json(whole)
    with pytest.raises(ValueError, match="interval_seconds"):
        Schedule.from_json({**Schedule.every(60).to_json(), "interval_seconds": "soon"})


def test_a_schedule_built_directly_names_what_is_wrong() -> None:
    """Schedule(kind=...) with a field of the other kind names the values and the builder."""
    with pytest.raises(ValueError, match=r"interval=datetime.timedelta.*Schedule\.cron"):
        Schedule(kind="cron", expression="0 9 * * *", interval=timedelta(hours=1))
    with pytest.raises(ValueError, match=r"expression='\* \* \* \* \*'.*Schedule\.every"):
        Schedule(kind="every", expression="* * * * *", interval=timedelta(hours=1))


@workflow(schedule=Schedule.cron("0 9 * * MON-FRI", tz="Europe/Paris"))
async def morning_report() -> None:
    """Runs every weekday morning."""


def test_scheduled_workflow_is_in_the_manifest() -> None:
    """The manifest carries each workflow's schedule as JSON for deploy targets."""
    manifest = Service.from_definitions("reports", [morning_report]).manifest()
    workflows = manifest["workflows"]
    assert isinstance(workflows, list)
    assert isinstance(workflows[0], dict)
    assert workflows[0]["schedule"] == morning_report.schedule.to_json()  # type: ignore[union-attr]


def test_scheduled_workflow_takes_no_parameter() -> None:
    """A scheduled workflow with a parameter is refused at decoration, naming it."""

    async def report(day: str) -> None:
        pass

    with pytest.raises(TypeError, match=r"must take no parameter, it takes 'day'"):
        workflow(schedule=Schedule.every(3600))(report)


def test_schedule_must_be_a_schedule() -> None:
    """Passing something else than a Schedule says what to use."""

    async def report() -> None:
        pass

    with pytest.raises(TypeError, match=r"Schedule\.cron"):
        workflow(schedule="0 9 * * *")(report)  # type: ignore[call-overload]


def test_reserved_workflow_names_are_refused() -> None:
    """Workflow names starting with 'eventual.' belong to eventual."""

    async def report() -> None:
        pass

    with pytest.raises(ValueError, match=r"'eventual\.report'.*reserved"):
        workflow(name="eventual.report")(report)
