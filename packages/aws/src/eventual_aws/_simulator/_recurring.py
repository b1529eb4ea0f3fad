"""When an EventBridge Scheduler schedule runs: ``at()``, ``rate()`` and ``cron()`` on a clock.

Local AWS endpoints store schedules without running them, so the simulator
works out their times itself, as Scheduler documents them:

- ``at(yyyy-mm-ddThh:mm:ss)``: once, at that wall time in the schedule's time zone.
- ``rate(value unit)``: every ``value`` minutes, hours or days of elapsed time
  (a day is 24 hours, across daylight saving changes too), from the schedule's
  start date, else from when it was created.
- ``cron(minutes hours day-of-month month day-of-week year)``: at each wall time
  the fields match in the schedule's time zone. Day of week counts 1-7 from
  Sunday (or ``SUN``-``SAT``), and one of the two day fields is ``?``. A wall time
  that daylight saving skips does not run; one it repeats runs once.

Alone in a day field, ``L`` and ``LW`` (the month's last day, last weekday),
``6L`` (its last Friday) and ``6#2`` (its second Friday) are run too; other uses
of ``L``, ``W`` and ``#`` are not: a schedule using them is reported and never run.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo

import attrs

__all__ = ["Recurrence", "UnsupportedExpression", "latest_due", "recurrence"]

_DAYS: Final = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS: Final = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
_RATE: Final = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$")
_UNITS: Final = {"minute": 60, "hour": 3600, "day": 86400}
_SEARCH_DAYS: Final = 366 * 8
"""How far ahead a cron expression is searched (past a leap day and a sparse year list)."""


class UnsupportedExpression(ValueError):
    """A schedule expression the simulator cannot run (the message says why)."""


class Recurrence(Protocol):
    """When a schedule runs."""

    def next_after(self, moment: datetime) -> datetime | None:
        """Return the first time after ``moment`` (aware) it runs, in UTC, or None if never."""


@attrs.frozen(kw_only=True)
class _Once:
    due: datetime

    def next_after(self, moment: datetime) -> datetime | None:
        return self.due if self.due > moment else None


@attrs.frozen(kw_only=True)
class _Rate:
    start: datetime
    period: timedelta

    def next_after(self, moment: datetime) -> datetime | None:
        if moment < self.start:
            return self.start
        periods = (moment - self.start) // self.period + 1
        return self.start + periods * self.period


@attrs.frozen(kw_only=True)
class _Cron:
    zone: ZoneInfo
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int] | None  # None: '?'
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1-7 from Sunday; None: '?'
    years: frozenset[int]
    day_token: str | None = None  # L, LW, 6L or 6#2: the day field that holds it is '?' above

    def _runs_on(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.days is not None and day.day not in self.days:
            return False
        if self.weekdays is not None and (day.weekday() + 1) % 7 + 1 not in self.weekdays:
            return False
        return self.day_token is None or _special_day(self.day_token, day)

    def next_after(self, moment: datetime) -> datetime | None:
        local = moment.astimezone(self.zone).replace(tzinfo=None)
        day = local.date()
        for _ in range(_SEARCH_DAYS):
            if self._runs_on(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        wall = datetime.combine(day, time(hour, minute))
                        if wall < local.replace(second=0, microsecond=0):
                            continue
                        found = wall.replace(tzinfo=self.zone).astimezone(UTC)
                        if found.astimezone(self.zone).replace(tzinfo=None) != wall:
                            continue  # a wall time daylight saving skips
                        if found > moment:
                            return found
            day += timedelta(days=1)
        return None


_SPECIAL_WEEKDAY: Final = re.compile(r"^[1-7](L|#[1-5])$")


def _special_day(token: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if token == "L":
        return day.day == last
    if token == "LW":
        final = date(day.year, day.month, last)
        while final.weekday() >= 5:  # Saturday, Sunday
            final -= timedelta(days=1)
        return day == final
    weekday = (day.weekday() + 1) % 7 + 1
    if token.endswith("L"):
        return weekday == int(token[:-1]) and day.day + 7 > last
    number, nth = token.split("#")
    return weekday == int(number) and (day.day - 1) // 7 + 1 == int(nth)


def _value(text: str, low: int, high: int, names: Sequence[str], name_base: int) -> int:
    upper = text.upper()
    if upper in names:
        return names.index(upper) + name_base
    if not text.isdigit() or not low <= int(text) <= high:
        raise UnsupportedExpression(f"{text!r} is not a {low}-{high} value or a name")
    return int(text)


def _field(
    text: str, low: int, high: int, names: Sequence[str] = (), name_base: int = 1
) -> frozenset[int] | None:
    if text == "?":
        return None
    bare = text.upper()
    for name in names:
        bare = bare.replace(name, "")
    if any(mark in bare for mark in "LW#"):
        raise UnsupportedExpression(f"{text!r} uses L, W or #, which the simulator does not run")
    found: set[int] = set()
    for item in text.split(","):
        step, stepped = 1, "/" in item
        if stepped:
            item, _, step_text = item.partition("/")
            if not step_text.isdigit() or int(step_text) < 1:
                raise UnsupportedExpression(f"step {step_text!r} is not a positive number")
            step = int(step_text)
        if item == "*":
            start, end = low, high
        elif "-" in item:
            first, _, last = item.partition("-")
            start = _value(first, low, high, names, name_base)
            end = _value(last, low, high, names, name_base)
        else:
            start = _value(item, low, high, names, name_base)
            end = high if stepped else start
        found.update(range(start, end + 1, step))
    return frozenset(found)


def _cron(fields: str, zone: ZoneInfo) -> _Cron:
    parts = fields.split()
    if len(parts) != 6:
        raise UnsupportedExpression(f"cron({fields}) does not have six fields")
    token: str | None = None
    if parts[2].upper() in ("L", "LW"):
        token, parts[2] = parts[2].upper(), "*"
    elif _SPECIAL_WEEKDAY.match(parts[4].upper()):
        token, parts[4] = parts[4].upper(), "*"
    minutes = _field(parts[0], 0, 59)
    hours = _field(parts[1], 0, 23)
    days = _field(parts[2], 1, 31)
    months = _field(parts[3], 1, 12, _MONTHS)
    weekdays = _field(parts[4], 1, 7, _DAYS)
    years = _field(parts[5], 1970, 2199)
    if minutes is None or hours is None or months is None or years is None:
        raise UnsupportedExpression(f"cron({fields}) has '?' outside the day fields")
    if (days is None) == (weekdays is None):
        raise UnsupportedExpression(
            f"cron({fields}) needs '?' in exactly one of day-of-month and day-of-week"
        )
    return _Cron(
        zone=zone,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=days,
        months=months,
        weekdays=weekdays,
        years=years,
        day_token=token,
    )


def recurrence(expression: str, zone: str | None, *, start: datetime) -> Recurrence:
    """Read a schedule expression.

    Args:
        expression: ``at(...)``, ``rate(...)`` or ``cron(...)``.
        zone: Its ``ScheduleExpressionTimezone`` (UTC when None).
        start: When a rate schedule starts: its start date, else when it was created.

    Raises:
        UnsupportedExpression: The expression is malformed or uses what the
            simulator does not run.
    """
    tz = ZoneInfo(zone or "UTC")
    text = expression.strip()
    if text.startswith("at(") and text.endswith(")"):
        local = datetime.fromisoformat(text[3:-1])
        return _Once(due=local.replace(tzinfo=tz).astimezone(UTC))
    rate = _RATE.match(text)
    if rate is not None:
        count, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if count < 1:
            raise UnsupportedExpression(f"{expression} is not a positive rate")
        return _Rate(start=start.astimezone(UTC), period=timedelta(seconds=count * _UNITS[unit]))
    if text.startswith("cron(") and text.endswith(")"):
        return _cron(text[5:-1], tz)
    raise UnsupportedExpression(f"{expression!r} is not an at(), rate() or cron() expression")


def latest_due(schedule: Recurrence, after: datetime, now: datetime) -> datetime | None:
    """Return the last time ``schedule`` runs after ``after`` and up to ``now``, or None.

    The search looks back from ``now`` over a window doubled until it holds a
    time, so a clock moved far ahead costs as many steps as the times it skipped
    near the end, not all of them.
    """
    first = schedule.next_after(after)
    if first is None or first > now:
        return None
    window = timedelta(minutes=1)
    while True:
        found = schedule.next_after(max(after, now - window))
        if found is not None and found <= now:
            while (following := schedule.next_after(found)) is not None and following <= now:
                found = following
            return found
        window *= 2
