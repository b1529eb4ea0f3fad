"""What one executor step produces: history to append and work to start."""

from __future__ import annotations

import attrs

from eventual.history import ExecutionRecord, HistoryEvent, PublishedEvent, WorkflowStarted
from eventual.spi import InboundMessage, LogEntry, TaskRequest, TimerRequest

__all__ = ["StepOutput"]


@attrs.define
class StepOutput:
    """New history events and the commands they imply, in the order produced.

    The orchestrator commits all of it atomically (the outbox), so a command is
    carried out if and only if its history event is recorded.
    """

    events: list[HistoryEvent] = attrs.field(factory=list)
    tasks: list[TaskRequest] = attrs.field(factory=list)
    timers: list[TimerRequest] = attrs.field(factory=list)
    cancel_timers: list[str] = attrs.field(factory=list)
    messages: list[InboundMessage] = attrs.field(factory=list)
    starts: list[tuple[ExecutionRecord, WorkflowStarted]] = attrs.field(factory=list)
    published: list[PublishedEvent] = attrs.field(factory=list)
    forget_tasks: list[str] = attrs.field(factory=list)
    logs: list[LogEntry] = attrs.field(factory=list)
    """Log entries of the step's code, stored after the commit (not part of it)."""

    def extend(self, other: StepOutput) -> None:
        """Append everything of ``other``."""
        self.events += other.events
        self.tasks += other.tasks
        self.timers += other.timers
        self.cancel_timers += other.cancel_timers
        self.messages += other.messages
        self.starts += other.starts
        self.published += other.published
        self.forget_tasks += other.forget_tasks
        self.logs += other.logs

    def __bool__(self) -> bool:
        return bool(
            self.events
            or self.tasks
            or self.timers
            or self.cancel_timers
            or self.messages
            or self.starts
            or self.published
            or self.forget_tasks
        )
