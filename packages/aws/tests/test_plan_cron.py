"""Tests for writing a workflow's unix cron and interval as EventBridge Scheduler expressions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest
from cronsim import CronSim
from hypothesis import given, settings
from hypothesis import strategies as st

from eventual import Schedule
from eventual_aws import PlanError
from eventual_aws._plan._cron import (
    DAY_NAMES,
    cron_expression,
    interval_expression,
    rate_expression,
)
from eventual_aws._simulator._recurring import recurrence

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@st.composite
def unix_field(
    draw: st.DrawFn, low: int, high: int, names: tuple[str, ...] = (), *, star: bool = True
) -> str:
    """One field of a unix cron expression: lists of values, ranges and steps."""

    def value(v: int) -> str:
        # Names where the field has them (months from 1, days of week from 0; 7 is a number).
        named: bool = draw(st.booleans())
        if names and named:
            index = v - 1 if names is MONTHS else v
            if 0 <= index < len(names):
                return names[index]
        return str(v)

    def item() -> str:
        kinds = ["star", "star_step"] if star else []
        kind = draw(st.sampled_from([*kinds, "value", "range", "range_step"]))
        if kind == "star":
            return "*"
        if kind == "star_step":
            return f"*/{draw(st.integers(1, high - low + 1))}"
        a = draw(st.integers(low, high))
        if kind == "value":
            return value(a)
        b = draw(st.integers(a, high))
        text = f"{value(a)}-{value(b)}"
        if kind == "range_step":
            text += f"/{draw(st.integers(1, high - low + 1))}"
        return text

    return ",".join(item() for _ in range(draw(st.integers(1, 3))))


@st.composite
def unix_cron(draw: st.DrawFn) -> str:
    """A 5-field unix cron expression whose day fields are often left open."""
    days = draw(
        st.one_of(
            st.just("*"),
            unix_field(1, 31, star=False),
            unix_field(1, 31),
            st.sampled_from(["L", "LW"]),
        )
    )
    weekdays = draw(
        st.one_of(
            st.just("*"),
            unix_field(0, 7, DAY_NAMES, star=False),
            unix_field(0, 7, DAY_NAMES),
            st.builds(lambda d: f"{d}L", st.integers(0, 7)),
            st.builds(
                lambda d, k: f"{d}#{k}",
                st.sampled_from([*map(str, range(8)), *DAY_NAMES]),
                st.integers(1, 5),
            ),
        )
    )
    fields = [
        draw(unix_field(0, 59)),
        draw(unix_field(0, 23)),
        days,
        draw(st.one_of(st.just("*"), unix_field(1, 12, MONTHS))),
        weekdays,
    ]
    return " ".join(fields)


STARTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1))


@settings(max_examples=300, deadline=None)
@given(unix_cron(), STARTS)
def test_translated_cron_fires_when_unix_cron_does(expression: str, start: datetime) -> None:
    """The EventBridge expression fires at exactly unix cron's times, or the plan refuses it."""
    reference = CronSim(expression, start)
    all_days = set(reference.days) >= set(range(1, 32))
    plain = {d % 7 for d in reference.weekdays if isinstance(d, int)}  # not 5L nor 5#2
    all_weekdays = plain == set(range(7))
    # Whatever the joining (AND or OR), one field matching every day leaves the other alone.
    expressible = all_days or all_weekdays
    if not expressible:
        with pytest.raises(PlanError, match="cannot run on AWS"):
            cron_expression(expression, label="workflow 'w'")
        return
    translated = cron_expression(expression, label="workflow 'w'")
    assert "?" in translated
    expected = list(islice(CronSim(expression, start), 12))
    schedule = recurrence(translated, "UTC", start=start)
    found: list[datetime] = []
    moment = start.replace(tzinfo=UTC)
    for _ in expected:
        following = schedule.next_after(moment)
        assert following is not None
        found.append(following.replace(tzinfo=None))
        moment = following
    assert found == expected, translated


@pytest.mark.parametrize(
    ("unix", "eventbridge"),
    [
        ("0 9 * * MON-FRI", "cron(0 9 ? * MON-FRI *)"),
        ("0 9 * * 1-5", "cron(0 9 ? * MON-FRI *)"),
        ("*/15 * * * *", "cron(0/15 * * * ? *)"),
        ("30 2 1 * *", "cron(30 2 1 * ? *)"),
        ("0 0 * * 0", "cron(0 0 ? * SUN *)"),
        ("0 0 * * 7", "cron(0 0 ? * SUN *)"),
        ("0 12 * * 6,0", "cron(0 12 ? * SUN,SAT *)"),
        ("@daily", "cron(0 0 * * ? *)"),
        ("0 6 1 JAN-MAR *", "cron(0 6 1 1-3 ? *)"),
        ("0 0 1 * 0-6", "cron(0 0 * * ? *)"),
        ("0 18 L * *", "cron(0 18 L * ? *)"),
        ("0 18 LW * *", "cron(0 18 LW * ? *)"),
        ("0 9 * * 5L", "cron(0 9 ? * 6L *)"),
        ("0 9 * * MON#1", "cron(0 9 ? * 2#1 *)"),
        ("0 9 * * 0#2", "cron(0 9 ? * 1#2 *)"),
    ],
)
def test_common_expressions_read_as_aws_writes_them(unix: str, eventbridge: str) -> None:
    """Everyday unix expressions become the EventBridge expressions AWS's examples use."""
    assert cron_expression(unix, label="workflow 'w'") == eventbridge


def test_both_day_fields_restricted_are_refused_saying_what_to_write() -> None:
    """Unix cron's OR of the two day fields is refused, naming both fields and the fix."""
    with pytest.raises(PlanError) as refused:
        cron_expression("0 9 1 * MON", label="workflow 'report'")
    message = str(refused.value)
    assert "workflow 'report'" in message
    assert "'1' or day-of-week 'MON'" in message
    assert "Put '*' in one of them" in message


@pytest.mark.parametrize("bad", ["0 9 * *", "61 * * * *", "0 9 * * FUNDAY", "0 9 L,1 * *"])
def test_malformed_expressions_are_refused_by_field(bad: str) -> None:
    """An expression that is not 5-field unix cron is refused with the field at fault."""
    with pytest.raises(PlanError, match="cron expression"):
        cron_expression(bad, label="workflow 'w'")


@pytest.mark.parametrize(
    ("minutes", "rate"),
    [
        (1, "rate(1 minute)"),
        (5, "rate(5 minutes)"),
        (60, "rate(1 hour)"),
        (90, "rate(90 minutes)"),
        (120, "rate(2 hours)"),
        (1440, "rate(1 day)"),
        (2880, "rate(2 days)"),
    ],
)
def test_intervals_use_the_largest_whole_unit(minutes: int, rate: str) -> None:
    """An interval is written in the largest unit dividing it, singular for one."""
    assert rate_expression(minutes, label="workflow 'w'") == rate


def test_an_interval_under_a_minute_is_refused() -> None:
    """Scheduler's shortest rate is a minute; a shorter interval is refused."""
    with pytest.raises(PlanError, match="shortest rate is one minute"):
        rate_expression(0, label="workflow 'w'")


ALIGNED = [1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ALIGNED), STARTS)
def test_intervals_dividing_a_day_fire_at_the_engines_times(minutes: int, start: datetime) -> None:
    """An interval dividing an hour or a day fires on AWS exactly when the engine fires it."""
    expression = interval_expression(minutes, label="workflow 'w'")
    assert expression.startswith("cron(")
    engine = Schedule.every(timedelta(minutes=minutes))
    aws = recurrence(expression, "UTC", start=start.replace(tzinfo=UTC))
    moment = start.replace(tzinfo=UTC)
    for _ in range(5):
        expected = engine.next_after(moment)
        assert aws.next_after(moment) == expected, expression
        moment = expected


@pytest.mark.parametrize(
    ("minutes", "expression"),
    [(60, "cron(0 * * * ? *)"), (1440, "cron(0 0 * * ? *)"), (90, "rate(90 minutes)")],
)
def test_other_intervals_are_rates(minutes: int, expression: str) -> None:
    """An hour and a day read plainly; an interval dividing neither is a rate()."""
    assert interval_expression(minutes, label="workflow 'w'") == expression
