"""Schedules: when a workflow starts on its own, declared in code with ``@workflow(schedule=)``.

A schedule is a plain value: a cron expression in a time zone, or a fixed
interval, with two explicit policies. It knows how to compute its next fire
time and how to travel as JSON (in the manifest, in the scheduler's input);
running it is the engine's business (a built-in scheduler workflow on durable
timers) or a deploy target's (EventBridge Scheduler on AWS).

Cron expressions are parsed and iterated by ``cronsim``, which follows Debian
cron around daylight-saving changes: a job at a fixed local time that falls in
the skipped hour runs once, at the first minute after the gap, and a job in
the repeated hour runs once, on its first occurrence.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, cast, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from cronsim import CronSim, CronSimError

from ._codec import JsonValue
from ._info import ExecutionStatus

__all__ = ["CatchUpPolicy", "OverlapPolicy", "Schedule", "ScheduleInfo", "ScheduleKind"]

OverlapPolicy = Literal["skip", "buffer_one", "allow"]
"""What a fire time does while the run of an earlier one is still running."""

CatchUpPolicy = Literal["once", "skip"]
"""What happens to fire times missed while nothing ran (a stopped process, a pause)."""

ScheduleKind = Literal["cron", "every"]

SCHEDULE_FORMAT: Final = 1
"""Version of :meth:`Schedule.to_json`'s format; raised on incompatible changes."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _check_choice(what: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def _zone(tz: object) -> ZoneInfo:
    if not isinstance(tz, str) or not tz:
        raise ValueError(f"schedule time zone must be an IANA name like 'Europe/Paris', got {tz!r}")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown schedule time zone {tz!r}: use an IANA name like 'Europe/Paris' or 'UTC'"
        ) from error


def _check_cron(expression: object) -> str:
    if not isinstance(expression, str) or len(expression.split()) != 5:
        raise ValueError(
            f"invalid cron expression {expression!r}: use five fields, "
            "'minute hour day-of-month month day-of-week', e.g. '0 9 * * MON-FRI'"
        )
    try:
        CronSim(expression, datetime(2000, 1, 1))
    except CronSimError as error:
        raise ValueError(f"invalid cron expression {expression!r}: {error}") from error
    return " ".join(expression.split())


def _interval(value: object) -> timedelta:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta):
        raise ValueError(f"schedule interval must be a timedelta or seconds, got {value!r}")
    if value < timedelta(minutes=1) or value % timedelta(minutes=1):
        raise ValueError(
            f"schedule interval {value} must be a whole number of minutes, at least one "
            "(the granularity schedules have on every runtime)"
        )
    return value


def _aware_utc(instant: datetime) -> datetime:
    if not isinstance(instant, datetime) or instant.tzinfo is None:
        raise ValueError(f"next_after needs a timezone-aware datetime, got {instant!r}")
    return instant.astimezone(UTC)


@attrs.frozen(kw_only=True)
class Schedule:
    """When a workflow starts on its own: ``@workflow(schedule=Schedule.cron(...))``.

    Build one with :meth:`cron` or :meth:`every`; each run of the workflow is an
    execution of its own, named after its scheduled time in UTC
    (``20261205T080000Z``). See docs/workflows.md, "Schedules".

    Attributes:
        kind: ``"cron"`` or ``"every"``.
        expression: The five-field cron expression (``None`` for ``every``).
        interval: The interval of an ``every`` schedule (``None`` for ``cron``).
        tz: The IANA time zone a cron expression is read in (``"UTC"`` for ``every``).
        overlap: While the previous run is still running, a fire time
            ``"skip"``s (default), is kept to start as soon as that run ends
            (``"buffer_one"``: later ones meanwhile collapse into it), or starts
            anyway (``"allow"``).
        catch_up: For fire times missed while nothing ran (the process was
            stopped, the schedule paused), start one run for the latest of them
            (``"once"``, default) or none (``"skip"``).
    """

    kind: ScheduleKind
    expression: str | None = None
    interval: timedelta | None = None
    tz: str = "UTC"
    overlap: OverlapPolicy = "skip"
    catch_up: CatchUpPolicy = "once"

    def __attrs_post_init__(self) -> None:
        _check_choice("schedule kind", self.kind, get_args(ScheduleKind))
        _check_choice("schedule overlap", self.overlap, get_args(OverlapPolicy))
        _check_choice("schedule catch_up", self.catch_up, get_args(CatchUpPolicy))
        _zone(self.tz)
        if self.kind == "cron":
            if self.interval is not None or self.expression != _check_cron(self.expression):
                raise ValueError(
                    f"a cron schedule has a normalized expression and no interval, got "
                    f"expression={self.expression!r}, interval={self.interval!r}: "
                    "build it with Schedule.cron(expression, tz=...)"
                )
        elif self.expression is not None or self.interval != _interval(self.interval):
            raise ValueError(
                f"an interval schedule has an interval and no expression, got "
                f"expression={self.expression!r}, interval={self.interval!r}: "
                "build it with Schedule.every(interval)"
            )

    @classmethod
    def cron(
        cls,
        expression: str,
        tz: str = "UTC",
        *,
        overlap: OverlapPolicy = "skip",
        catch_up: CatchUpPolicy = "once",
    ) -> Schedule:
        """A schedule from a five-field cron expression read in the time zone ``tz``.

        ``minute hour day-of-month month day-of-week``, with ranges, lists, steps
        and names (``0 9 * * MON-FRI``). Times are local to ``tz`` and follow its
        daylight-saving changes (see the module documentation).

        Raises:
            ValueError: The expression, zone or a policy is invalid (the message
                names the value).
        """
        return cls(
            kind="cron",
            expression=_check_cron(expression),
            tz=_zone(tz).key,
            overlap=overlap,
            catch_up=catch_up,
        )

    @classmethod
    def every(
        cls,
        interval: timedelta | float,
        *,
        overlap: OverlapPolicy = "skip",
        catch_up: CatchUpPolicy = "once",
    ) -> Schedule:
        """A schedule firing every ``interval`` (a timedelta or seconds, whole minutes).

        Fire times are aligned on the Unix epoch in UTC: every six hours fires at
        00:00, 06:00, 12:00 and 18:00 UTC, whenever the schedule was deployed.

        Raises:
            ValueError: The interval is not a whole number of minutes of at least
                one, or a policy is invalid.
        """
        return cls(kind="every", interval=_interval(interval), overlap=overlap, catch_up=catch_up)

    def next_after(self, instant: datetime) -> datetime:
        """Return the first fire time strictly after ``instant``, aware and in UTC.

        Raises:
            ValueError: ``instant`` is naive.
        """
        instant = _aware_utc(instant)
        if self.interval is not None:
            periods = (instant - _EPOCH) // self.interval
            return _EPOCH + (periods + 1) * self.interval
        local = instant.astimezone(ZoneInfo(self.tz))
        fire = next(CronSim(cast(str, self.expression), local))
        return fire.astimezone(UTC)

    def last_at_or_before(self, instant: datetime) -> datetime:
        """Return the latest fire time at or before ``instant``, aware and in UTC.

        Raises:
            ValueError: ``instant`` is naive.
        """
        instant = _aware_utc(instant)
        if self.interval is not None:
            return _EPOCH + ((instant - _EPOCH) // self.interval) * self.interval
        # Reverse iteration starts strictly before the second it is given.
        after = instant.replace(microsecond=0) + timedelta(seconds=1)
        local = after.astimezone(ZoneInfo(self.tz))
        fire = next(CronSim(cast(str, self.expression), local, reverse=True))
        return fire.astimezone(UTC)

    def describe(self) -> str:
        """Return a short human description: ``cron 0 9 * * MON-FRI (Europe/Paris)``."""
        if self.interval is not None:
            return f"every {self.interval}"
        return f"cron {self.expression} ({self.tz})"

    def to_json(self) -> dict[str, JsonValue]:
        """Return the schedule as a plain JSON object (read back by :meth:`from_json`)."""
        return {
            "format": SCHEDULE_FORMAT,
            "kind": self.kind,
            "expression": self.expression,
            "interval_seconds": None if self.interval is None else self.interval.total_seconds(),
            "tz": self.tz,
            "overlap": self.overlap,
            "catch_up": self.catch_up,
        }

    @classmethod
    def from_json(cls, data: JsonValue) -> Schedule:
        """Read a schedule written by :meth:`to_json`.

        Raises:
            ValueError: ``data`` is not a schedule of a known format.
        """
        if not isinstance(data, dict) or data.get("format") != SCHEDULE_FORMAT:
            raise ValueError(f"not a schedule of format {SCHEDULE_FORMAT}: {data!r}")
        fields: dict[str, Any] = data
        try:
            policies = {"overlap": fields["overlap"], "catch_up": fields["catch_up"]}
            if fields["kind"] == "cron":
                return cls.cron(fields["expression"], fields["tz"], **policies)
            return cls.every(timedelta(seconds=fields["interval_seconds"]), **policies)
        except (KeyError, TypeError) as error:
            raise ValueError(
                f"not a whole schedule of format {SCHEDULE_FORMAT} ({error!r} is wrong "
                f"or missing): {data!r}"
            ) from None


@attrs.frozen(kw_only=True)
class ScheduleInfo:
    """Where a scheduled workflow stands: what ``ServiceClient.schedules()`` lists.

    Attributes:
        workflow: The scheduled workflow.
        kind: ``"cron"`` or ``"every"``.
        expression: The cron expression (``None`` for ``every``).
        interval_seconds: The interval of an ``every`` schedule (``None`` for ``cron``).
        tz: The time zone a cron expression is read in.
        overlap: The overlap policy.
        catch_up: The catch-up policy.
        paused: Whether runs are paused.
        next_run: When the next run is due (``None`` while paused, or before
            the scheduler has started).
        last_run: The execution id of the latest scheduled run, if any.
        last_status: That run's status.
    """

    workflow: str
    kind: ScheduleKind
    expression: str | None
    interval_seconds: float | None
    tz: str
    overlap: OverlapPolicy
    catch_up: CatchUpPolicy
    paused: bool
    next_run: datetime | None
    last_run: str | None
    last_status: ExecutionStatus | None

    @classmethod
    def of(
        cls,
        workflow: str,
        schedule: Schedule,
        *,
        paused: bool,
        next_run: datetime | None,
        last_run: str | None,
        last_status: ExecutionStatus | None,
    ) -> ScheduleInfo:
        """Describe ``workflow`` scheduled by ``schedule``."""
        return cls(
            workflow=workflow,
            kind=schedule.kind,
            expression=schedule.expression,
            interval_seconds=None
            if schedule.interval is None
            else schedule.interval.total_seconds(),
            tz=schedule.tz,
            overlap=schedule.overlap,
            catch_up=schedule.catch_up,
            paused=paused,
            next_run=next_run,
            last_run=last_run,
            last_status=last_status,
        )

    @property
    def schedule(self) -> Schedule:
        """The schedule itself."""
        if self.kind == "cron":
            assert self.expression is not None
            return Schedule.cron(
                self.expression, self.tz, overlap=self.overlap, catch_up=self.catch_up
            )
        assert self.interval_seconds is not None
        return Schedule.every(
            timedelta(seconds=self.interval_seconds), overlap=self.overlap, catch_up=self.catch_up
        )
