"""The calls a replayed history recorded, and the check of each call the code makes.

Each durable call the code makes takes the next sequence number. While a
history is replayed, a call whose number is recorded is compared with the
record (kind and name) instead of being emitted again; a mismatch, or a
recorded call the code never makes, is a ``DeterminismError``. Calls beyond the
record are new output.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from eventual import DeterminismError
from eventual.history import (
    ChildWorkflowScheduled,
    EventsPublished,
    HistoryEvent,
    SequencedEvent,
    SignalSent,
    TaskScheduled,
    TaskStarted,
    TimerCancelled,
    TimerScheduled,
    WorkflowCancelled,
    WorkflowContinuedAsNew,
    WorkflowPatched,
    WorkflowSucceeded,
    WorkflowTimedOut,
)
from eventual.history import WorkflowFailed as WorkflowFailedEvent

from ._calls import describe

__all__ = ["ENDINGS", "MARKERS", "SCHEDULED", "Recorded"]

ENDINGS = (WorkflowSucceeded, WorkflowFailedEvent, WorkflowCancelled)
"""Endings the workflow code produces; a ``WorkflowTimedOut`` is applied like an inbound event."""

SCHEDULED = (TaskScheduled, TimerScheduled, ChildWorkflowScheduled, SignalSent, EventsPublished)
"""Events the code's calls produce (replay checks them instead of applying them)."""

MARKERS = (WorkflowPatched, TimerCancelled, TaskStarted, WorkflowContinuedAsNew)
"""Events the code writes that are not calls: read on replay, never applied."""

_TERMINAL = (*ENDINGS, WorkflowTimedOut)


class Recorded:
    """What a history records of one execution's calls and ending.

    Args:
        execution_id: The execution, named in determinism errors.
    """

    def __init__(self, execution_id: str) -> None:
        self._execution_id = execution_id
        self._calls: dict[int, SequencedEvent] = {}
        self.terminal: HistoryEvent | None = None
        """The recorded ending, if the history has one (its effects are recorded too)."""
        self.nondeterminism: DeterminismError | None = None
        """The first contradiction found, raised once the current event is applied."""
        self.patches: dict[str, int] = {}
        """Patches the history records as taken, with the call after which each was."""
        self.cancelled_timers: set[int] = set()
        """Sequence numbers of the timers the history records as cancelled."""

    def read(self, history: Sequence[HistoryEvent]) -> None:
        """Note the scheduled calls and the ending of ``history``."""
        for event in history:
            if isinstance(event, SCHEDULED):
                self._calls[event.seq] = event
            elif isinstance(event, WorkflowPatched):
                self.patches.setdefault(event.patch, event.after_seq)
            elif isinstance(event, TimerCancelled):
                self.cancelled_timers.add(event.seq)
            elif isinstance(event, _TERMINAL):
                self.terminal = event

    def is_new(self, event: SequencedEvent) -> bool:
        """Check a call against the record; return whether it was never recorded.

        Raises:
            DeterminismError: The record holds another call at its sequence number.
        """
        recorded = self._calls.get(event.seq)
        if recorded is None:
            return True
        if describe(recorded) != describe(event) or type(recorded) is not type(event):
            error = DeterminismError(
                f"{self._execution_id}: nondeterministic workflow code at sequence {event.seq}: "
                f"the history records {describe(recorded)}, the code now calls {describe(event)}",
                seq=event.seq,
                recorded=describe(recorded),
                new=describe(event),
            )
            self.nondeterminism = self.nondeterminism or error
            raise error
        return False

    def has_call_after(self, seq: int) -> bool:
        """Tell whether the record holds a call numbered above ``seq``."""
        return any(recorded > seq for recorded in self._calls)

    def check_complete(self, made: Iterable[int]) -> None:
        """Raise the first contradiction, or a recorded call the code never made.

        Args:
            made: The sequence numbers of the calls the code made.
        """
        # The first divergence explains the rest: report a contradicting call first.
        if self.nondeterminism is not None:
            raise self.nondeterminism
        missing = sorted(set(self._calls) - set(made))
        if missing:
            seq = missing[0]
            raise DeterminismError(
                f"{self._execution_id}: history records {describe(self._calls[seq])} at "
                f"sequence {seq}, but the workflow code never makes that call",
                seq=seq,
                recorded=describe(self._calls[seq]),
            )

    def forget_calls(self) -> None:
        """Drop the recorded calls: everything the code does from now on is new."""
        self._calls.clear()
