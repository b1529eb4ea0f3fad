"""Crashes on purpose: the hook that proves a handler survives dying at any point.

A runtime's :class:`Faults` is armed with a point name; the handler raises
:class:`InjectedCrash` when it reaches that point, as if the process had died
there. ``InjectedCrash`` is a ``BaseException``, so no per-record error handling
catches it: the whole invocation fails, as a crash would, and SQS delivers the
batch again after its visibility timeout. Tests and the simulator arm points;
nothing arms them in production, where reaching a point costs a set lookup.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

__all__ = ["CRASH_POINTS", "Faults", "InjectedCrash"]

CRASH_POINTS: Final = frozenset(
    {
        "orchestrator.claimed",  # the execution is claimed, no step taken
        "orchestrator.committed",  # the step is committed, its events not relayed
        "orchestrator.relayed",  # published events relayed, the message not acknowledged
        "task.claimed",  # the attempt is claimed, its body not run
        "task.ran",  # the body returned, its outcome not recorded
        "task.recorded",  # the outcome is queued, the message not acknowledged
        "timer.claimed",  # the timer is claimed, not fired
        "timer.fired",  # its message is queued, the SQS message not acknowledged
        "forwarder.received",  # the schedule's input is read, nothing done
        "forwarder.handled",  # the timer is fired or handed on (the schedule ticked), not answered
        "subscription.handled",  # a handler returned, its delivery not yet remembered
        "subscription.dead_lettered",  # a dead letter is stored, its message not settled
        "subscription.delivered",  # the batch is delivered, the answer not returned
    }
)
"""Where a handler can be made to crash (``Faults.arm``)."""


class InjectedCrash(BaseException):
    """Raised at an armed crash point: the invocation dies there, as a crash would."""


class Faults:
    """The crash points armed in one runtime, each for a number of passes."""

    def __init__(self) -> None:
        self._armed: Counter[str] = Counter()

    def arm(self, point: str, times: int = 1) -> None:
        """Crash the next ``times`` passes through ``point``.

        Raises:
            ValueError: ``point`` is not one of :data:`CRASH_POINTS`.
        """
        if point not in CRASH_POINTS:
            raise ValueError(
                f"no crash point {point!r}; the points are {', '.join(sorted(CRASH_POINTS))}"
            )
        self._armed[point] += times

    def disarm(self) -> None:
        """Forget every armed point."""
        self._armed.clear()

    def reach(self, point: str) -> None:
        """Pass ``point``: raise :class:`InjectedCrash` when it is armed."""
        if self._armed[point] > 0:
            self._armed[point] -= 1
            raise InjectedCrash(f"crash injected at {point}")
