"""Schedule expressions: a workflow's unix cron or interval as EventBridge Scheduler writes it.

A workflow's schedule is a 5-field unix cron expression (``minute hour
day-of-month month day-of-week``) or an interval of whole minutes. EventBridge
Scheduler takes ``cron(minutes hours day-of-month month day-of-week year)`` and
``rate(value unit)``, and its cron differs from unix cron in three ways this
module bridges:

- day of week counts 1-7 from Sunday (unix: 0-7, Sunday being 0 and 7); names
  (``MON-FRI``) mean the same in both, so days of week are written as names;
- one of day-of-month and day-of-week must be ``?``;
- unix cron joins the two day fields with OR when both are restricted (neither
  starts with ``*``), and with AND when either starts with ``*``. EventBridge
  can only restrict one of them, so an expression whose days need both (``0 9
  1 * MON``: the 1st of the month *or* any Monday) is refused, saying so.

Each field is read into the set of values it matches, then written back in the
plainest form EventBridge reads the same way: ``*``, a step from a start to
the field's end (``0/15``), or a list of values and ranges. Reading and writing
sets, rather than rewriting the text, is what makes the translation exact for
every expression unix cron accepts; a property test compares the fire times of
both forms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from ._names import PlanError

__all__ = ["DAY_NAMES", "cron_expression", "interval_expression", "rate_expression"]

DAY_NAMES: Final = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
"""Days of week by their unix number (0 = Sunday)."""
_MONTH_NAMES: Final = (
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
_MACROS: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# (name, lowest, highest, names) of the five unix fields.
_FIELDS: Final = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTH_NAMES),
    ("day of week", 0, 7, DAY_NAMES),
)


class _BadField(ValueError):
    pass


def _value(text: str, low: int, high: int, names: Sequence[str]) -> int:
    upper = text.upper()
    if upper in names:
        return names.index(upper) + (1 if names is _MONTH_NAMES else 0)
    if not text.isdigit():
        raise _BadField(f"{text!r} is not a number or a name")
    value = int(text)
    if not low <= value <= high:
        raise _BadField(f"{value} is outside {low}-{high}")
    return value


def _parse_field(text: str, low: int, high: int, names: Sequence[str]) -> set[int]:
    """Return the values a unix cron field matches (day of week: 7 is read as 0)."""
    found: set[int] = set()
    for item in text.split(","):
        if not item:
            raise _BadField("an empty item")
        step, stepped = 1, "/" in item
        if stepped:
            item, _, step_text = item.partition("/")
            if not step_text.isdigit() or int(step_text) == 0:
                raise _BadField(f"step {step_text!r} is not a positive number")
            step = int(step_text)
        if item == "*":
            start, end = low, high
        elif "-" in item:
            first, _, last = item.partition("-")
            start, end = _value(first, low, high, names), _value(last, low, high, names)
            if end < start:
                raise _BadField(f"the range {item!r} runs backwards")
        else:
            start = _value(item, low, high, names)
            # ``5/15`` steps from 5 to the field's end (as cron implementations that
            # accept it read it).
            end = high if stepped else start
        found.update(range(start, end + 1, step))
    if names is DAY_NAMES and 7 in found:
        found.discard(7)
        found.add(0)
    return found


_LAST_WEEKDAY: Final = re.compile(r"^([0-7])L$")
_NTH_WEEKDAY: Final = re.compile(r"^(\w+)#([1-5])$")


def _special_day(index: int, field: str) -> str | None:
    """Write a day field that is one of L, LW (day of month), nL, n#k (day of week).

    Unix cron (as cronsim reads it) and EventBridge mean the same by them: the
    last day, the last weekday, the last given day of week of the month, its
    k-th given day of week. EventBridge numbers days of week from 1, Sunday.
    """
    upper = field.upper()
    if index == 2 and upper in ("L", "LW"):
        return upper
    if index != 4:
        return None
    last = _LAST_WEEKDAY.match(upper)
    if last is not None:
        return f"{int(last.group(1)) % 7 + 1}L"
    nth = _NTH_WEEKDAY.match(upper)
    if nth is not None:
        day = _value(nth.group(1), 0, 7, DAY_NAMES) % 7
        return f"{day + 1}#{nth.group(2)}"
    return None


def _runs(values: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for value in values:
        if runs and runs[-1][1] == value - 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def _write_field(values: set[int], low: int, high: int) -> str:
    """Write a set of values of a field other than day of week as EventBridge reads it."""
    ordered = sorted(values)
    if ordered == list(range(low, high + 1)):
        return "*"
    if len(ordered) > 2 and ordered[1] - ordered[0] > 1:
        step = ordered[1] - ordered[0]
        if ordered == list(range(ordered[0], high + 1, step)) and high - ordered[-1] < step:
            return f"{ordered[0]}/{step}"
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in _runs(ordered))


def _write_days_of_week(values: set[int]) -> str:
    # EventBridge numbers days 1-7 from Sunday; names mean the same in both syntaxes.
    return ",".join(
        DAY_NAMES[a] if a == b else f"{DAY_NAMES[a]}-{DAY_NAMES[b]}"
        for a, b in _runs(sorted(values))
    )


def cron_expression(expression: str, *, label: str) -> str:
    """Return EventBridge Scheduler's ``cron(...)`` for a 5-field unix cron expression.

    Args:
        expression: The unix expression (``"0 9 * * MON-FRI"``, or a macro such
            as ``"@daily"``).
        label: What has the schedule, for errors (``workflow 'report'``).

    Raises:
        PlanError: The expression is not a 5-field unix cron expression, or it
            restricts both days of month and days of week, which EventBridge
            Scheduler cannot express; the message says what to write instead.
    """
    text = _MACROS.get(expression.strip().lower(), expression)
    fields = text.split()
    if len(fields) != len(_FIELDS):
        raise PlanError(
            f"{label} has the cron expression {expression!r}, which does not have the five "
            "fields of unix cron (minute hour day-of-month month day-of-week)"
        )
    values: list[set[int]] = []
    special: dict[int, str] = {}
    for index, (field, (name, low, high, names)) in enumerate(zip(fields, _FIELDS, strict=True)):
        try:
            written = _special_day(index, field)
            if written is not None:
                special[index] = written
                values.append(set())
                continue
            values.append(_parse_field(field, low, high, names))
        except _BadField as error:
            raise PlanError(
                f"{label} has the cron expression {expression!r}, whose {name} field "
                f"{field!r} EventBridge Scheduler cannot take ({error}); use numbers, names, "
                "'*', ',', '-' and '/' (or one of L, LW, 5L, FRI#2 alone in a day field)"
            ) from None
    minutes, hours, days, months, weekdays = values
    all_days = 2 not in special and days == set(range(1, 32))
    all_weekdays = 4 not in special and weekdays == set(range(7))
    days_text = special.get(2) or _write_field(days, 1, 31)
    weekdays_text = special.get(4) or (_write_days_of_week(weekdays) if weekdays else "")
    # Unix cron: the day fields are ANDed when either starts with '*', else ORed.
    joined_by_and = fields[2].startswith("*") or fields[4].startswith("*")
    if joined_by_and:
        if all_weekdays:
            day_of_month, day_of_week = days_text, "?"
        elif all_days:
            day_of_month, day_of_week = "?", weekdays_text
        else:
            day_of_month = day_of_week = ""
    elif all_days or all_weekdays:
        day_of_month, day_of_week = "*", "?"
    else:
        day_of_month = day_of_week = ""
    if not day_of_month:
        how = "and" if joined_by_and else "or"
        raise PlanError(
            f"{label} has the cron expression {expression!r}, which runs on days matching "
            f"day-of-month {fields[2]!r} {how} day-of-week {fields[4]!r}; EventBridge "
            "Scheduler restricts only one of the two day fields, so this cannot run on AWS. "
            "Put '*' in one of them, or declare two scheduled workflows, one per day field"
        )
    parts = (
        _write_field(minutes, 0, 59),
        _write_field(hours, 0, 23),
        day_of_month,
        _write_field(months, 1, 12),
        day_of_week,
        "*",
    )
    return f"cron({' '.join(parts)})"


def rate_expression(minutes: int, *, label: str) -> str:
    """Return EventBridge Scheduler's ``rate(...)`` for an interval of whole minutes.

    The largest unit that divides the interval is used (``rate(2 hours)``), in
    the singular for one (``rate(1 day)``), as Scheduler requires.

    Raises:
        PlanError: The interval is not a positive number of minutes.
    """
    if minutes < 1:
        raise PlanError(
            f"{label} runs every {minutes} minutes; EventBridge Scheduler's shortest rate is "
            "one minute"
        )
    for size, unit in ((24 * 60, "day"), (60, "hour"), (1, "minute")):
        if minutes % size == 0:
            count = minutes // size
            return f"rate({count} {unit}{'' if count == 1 else 's'})"
    raise AssertionError("unreachable: every interval is a whole number of minutes")


def interval_expression(minutes: int, *, label: str) -> str:
    """Return the Scheduler expression of an interval schedule, at the engine's times.

    The engine fires an interval schedule on multiples of the interval since the
    Unix epoch in UTC (every six hours: 00:00, 06:00, 12:00, 18:00 UTC), while a
    ``rate()`` counts from when its schedule was created. When the interval
    divides an hour or a day, a cron expression in UTC fires at exactly the
    engine's times, so it is used; other intervals are a ``rate()``, whose times
    keep the interval but not that phase.

    Raises:
        PlanError: The interval is not a positive number of minutes.
    """
    if 1 <= minutes < 60 and 60 % minutes == 0:
        return "cron(* * * * ? *)" if minutes == 1 else f"cron(0/{minutes} * * * ? *)"
    if minutes % 60 == 0 and (24 * 60) % minutes == 0:
        hours = minutes // 60
        hour_field = {1: "*", 24: "0"}.get(hours, f"0/{hours}")
        return f"cron(0 {hour_field} * * ? *)"
    return rate_expression(minutes, label=label)
