"""Clocks: the wall clock in production, a manual one for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Where the engine reads the time (timers, timestamps, retry back-off)."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware UTC."""


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told (the test environment's virtual clock)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"ManualClock needs a timezone-aware start, got {start!r}")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """Return the clock's current time."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``."""
        if delta < timedelta(0):
            raise ValueError(f"a clock cannot go back (advance by {delta})")
        self._now += delta

    def set(self, when: datetime) -> None:
        """Move the clock to ``when``, which must not be in its past."""
        if when.tzinfo is None:
            raise ValueError(f"{when!r} must be timezone-aware")
        if when < self._now:
            raise ValueError(f"a clock cannot go back from {self._now} to {when}")
        self._now = when.astimezone(UTC)
