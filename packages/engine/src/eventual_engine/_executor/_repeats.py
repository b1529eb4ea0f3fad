"""Ids of the inbound messages an execution applied, so a repeat is applied once, across runs too.

Messages are delivered at least once: the queue ignores a message whose id is
queued already, but once a step has consumed it the same id can be queued
again by a producer that writes it a second time (a split step's remainder
written again on AWS, a retried send). Within a run the ids it applied are read
back from its history. Across runs, the next run's ``WorkflowStarted`` carries
them (``applied_ids``), but not for ever: runs exist to keep an execution's
cost bounded, so a run hands on only the ids applied within
:data:`REPEAT_WINDOW` of its end, at most :data:`HANDED_ON_LIMIT` of them, the
newest. A repeat arrives while its producer may still write the message again:
within the lease of the step or call that produced it, or the redeliveries of
its doorbell (on AWS five receives, each after a visibility timeout of six
times the function's timeout: at most 7.5 hours for a 15-minute function),
less than a day. A doorbell redriven from its dead-letter queue days later
comes after the window: its repeat is applied again. An id handed in from an earlier run counts as
applied when the run that holds it started (no later than that), so a chain
of short runs keeps it until a day has passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

__all__ = ["HANDED_ON_LIMIT", "REPEAT_WINDOW", "AppliedIds"]

REPEAT_WINDOW: Final = timedelta(days=1)
"""How long after applying a message a run still expects a repeat of it."""

HANDED_ON_LIMIT: Final = 500
"""The most ids a run hands to the next (about 18 KB of ``WorkflowStarted``)."""


class AppliedIds:
    """The ids of messages one run applied, or was handed, with when (the run's clock).

    Args:
        handed: The ids the run before handed on (``WorkflowStarted.applied_ids``).
        started: When this run started: the time given to the handed ids.
    """

    def __init__(self, handed: Sequence[str], started: datetime) -> None:
        self._at: dict[str, datetime] = dict.fromkeys(handed, started)

    def first_arrival(self, message_id: str, now: datetime) -> bool:
        """Return whether a message with this id arrives for the first time (and note it)."""
        if message_id in self._at:
            return False
        self._at[message_id] = now
        return True

    def handed_on(self, now: datetime, *, skip: Callable[[str], bool]) -> tuple[str, ...]:
        """Return the ids the next run is handed: applied within the window, newest last.

        Args:
            now: When this run continues as new.
            skip: Ids never to hand on (ones no producer can write again).
        """
        recent = [
            message_id
            for message_id, at in self._at.items()
            if now - at < REPEAT_WINDOW and not skip(message_id)
        ]
        return tuple(recent[-HANDED_ON_LIMIT:])
