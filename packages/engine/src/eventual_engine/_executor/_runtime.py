"""The calls workflow code makes (``WorkflowRuntime``), as a part of ``WorkflowInstance``.

Each durable call takes the next sequence number, records its scheduling event
(checked against the history when replaying) and, when new, adds the command it
implies to the step's output: a task attempt, a timer, a child execution, a
message to another execution, events to publish. The rest of the instance
(applying events, running the coroutine, endings) is in ``_instance``.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from eventual import EventualError, ExecutionInfo, Service, Workflow
from eventual.codec import JsonValue
from eventual.history import (
    ChildWorkflowScheduled,
    EventsPublished,
    HistoryEvent,
    PublishedEvent,
    SequencedEvent,
    SignalReceived,
    SignalSent,
    TaskScheduled,
    TimerCancelled,
    TimerScheduled,
    WorkflowPatched,
    WorkflowStarted,
)
from eventual.spi import (
    Disposable,
    ExecutionControl,
    InboundMessage,
    LogEntry,
    TaskCallOptions,
    TaskRequest,
    TimerRequest,
)

from .. import _ids
from .._schedules._builtins import task_of, workflow_of
from .._start import new_execution
from ._calls import Call, ChildCall, InWorkflowControl, TaskCall, TimerCall
from ._ending import ContinueAsNew, Ending
from ._loop import DeterministicLoop
from ._output import StepOutput
from ._replaying import Recorded
from ._signals import SignalBox

__all__ = ["WorkflowCalls"]

log = logging.getLogger("eventual.engine")


class WorkflowCalls:
    """The ``WorkflowRuntime`` methods of a workflow instance.

    A part of :class:`~eventual_engine.WorkflowInstance`, which owns the state
    declared here and provides the three bookkeeping methods below.
    """

    service: Service
    id: str
    started: WorkflowStarted
    workflow: Workflow[Any, Any]
    ending: Ending | None
    _loop: DeterministicLoop
    _now: datetime
    _rng: _random.Random
    _info: ExecutionInfo
    _out: StepOutput
    _calls: dict[int, Call]
    _timer_seqs: dict[int, int]
    _children: dict[str, ChildCall]
    _child_results: dict[str, asyncio.Future[JsonValue]]
    _signals: SignalBox
    _conditions: list[tuple[Callable[[], bool], asyncio.Future[bool]]]
    _recorded: Recorded
    _seq: int
    _replaying: bool
    _replay_more: bool
    _patches: dict[str, bool]
    _log_counts: dict[int, int]
    continued: list[HistoryEvent] | None

    def _new_seq(self) -> int:
        raise NotImplementedError

    def _next(self, event: SequencedEvent) -> bool:
        raise NotImplementedError

    def _task_request(self, call: TaskCall, not_before: datetime | None) -> TaskRequest:
        raise NotImplementedError

    # --- tasks -------------------------------------------------------------------------

    def call_task(
        self, task: str, args: Sequence[JsonValue], options: TaskCallOptions
    ) -> Awaitable[JsonValue]:
        """Schedule a task (see ``WorkflowRuntime``)."""
        task_of(self.service, task)  # a clear error for a task outside the service
        seq = self._new_seq()
        call = TaskCall(seq=seq, future=self._loop.create_future(), task=task, args=list(args))
        self._calls[seq] = call
        if self._next(TaskScheduled(timestamp=self._now, seq=seq, task=task, args=call.args)):
            self._out.tasks.append(self._task_request(call, None))
        return call.future

    # --- timers --------------------------------------------------------------------------

    def sleep_until(self, when: datetime) -> Awaitable[None]:
        """Wait on a durable timer (see ``WorkflowRuntime``)."""
        future: asyncio.Future[None] = self._loop.create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        handle = self._loop.call_at(when.timestamp(), wake)
        future.add_done_callback(lambda f: handle.cancel() if f.cancelled() else None)
        return future

    def loop_time(self) -> float:
        """Return the execution's current time in epoch seconds (for the loop)."""
        return self._now.timestamp()

    def start_loop_timer(
        self, when: float, handle: asyncio.TimerHandle, fire: Callable[[], None]
    ) -> None:
        """Record a durable timer for the loop (``call_at``/``call_later``)."""
        seq = self._new_seq()
        due = datetime.fromtimestamp(when, UTC)
        self._calls[seq] = TimerCall(seq=seq, fire=fire)
        self._timer_seqs[id(handle)] = seq
        if self._next(TimerScheduled(timestamp=self._now, seq=seq, until=due)):
            self._out.timers.append(
                TimerRequest(
                    id=_ids.timer_id(self.id, "timer", seq),
                    execution_id=self.id,
                    due=due,
                    kind="timer",
                    seq=seq,
                )
            )

    def cancel_loop_timer(self, handle: asyncio.TimerHandle) -> None:
        """Forget a cancelled loop timer; its firing, if any, is ignored."""
        seq = self._timer_seqs.pop(id(handle), None)
        ended = self.ending is not None or self.continued is not None
        if seq is not None and self._calls.pop(seq, None) is not None and not ended:
            self._out.cancel_timers.append(_ids.timer_id(self.id, "timer", seq))
            # Recorded once: not again on replay, nor where an older history
            # (written before TimerCancelled existed) already holds what followed.
            if seq not in self._recorded.cancelled_timers and not self.is_replaying():
                self._out.events.append(TimerCancelled(timestamp=self._now, seq=seq))

    def report_error(self, context: dict[str, Any]) -> None:
        """Log an error no workflow code caught (the loop's exception handler)."""
        log.debug("%s: %s", self.id, context.get("message"), exc_info=context.get("exception"))

    # --- child workflows -------------------------------------------------------------------

    def _start_child(
        self, workflow: str, input: JsonValue, name: str | None, wait: bool
    ) -> ChildCall:
        definition: Workflow[Any, Any] = workflow_of(self.service, workflow)
        seq = self._new_seq()
        child_name = name or _ids.child_execution_name(self.started.name, seq)
        child_id = _ids.execution_id(workflow, child_name)
        call = ChildCall(
            seq=seq, child_id=child_id, future=self._loop.create_future() if wait else None
        )
        self._calls[seq] = call
        self._children[child_id] = call
        event = ChildWorkflowScheduled(
            timestamp=self._now,
            seq=seq,
            workflow=workflow,
            name=child_name,
            execution_id=child_id,
            input=input,
            wait=wait,
        )
        if self._next(event):
            start = new_execution(
                definition,
                child_name,
                input,
                now=self._now,
                parent_id=self.id,
                parent_seq=seq,
                task_key=_ids.child_task_key(self.started.task_key, child_id),
            )
            self._out.starts.append((start.record, start.started))
            self._out.timers.extend(start.timers)
        return call

    def call_workflow(
        self, workflow: str, input: JsonValue, name: str | None
    ) -> Awaitable[JsonValue]:
        """Run a child execution and wait for its result (see ``WorkflowRuntime``)."""
        call = self._start_child(workflow, input, name, wait=True)
        assert call.future is not None
        return call.future

    async def start_workflow(self, workflow: str, input: JsonValue, name: str | None) -> str:
        """Start a child execution without waiting (see ``WorkflowRuntime``)."""
        return self._start_child(workflow, input, name, wait=False).child_id

    async def child_result(self, child_id: str) -> JsonValue:
        """Wait for the result of a child started with ``start()``."""
        if child_id not in self._children:
            raise EventualError(
                f"{child_id!r} is not a running child of {self.id!r}; inside a workflow only "
                "children's results can be awaited"
            )
        future = self._child_results.get(child_id)
        if future is None:
            future = self._child_results[child_id] = self._loop.create_future()
        return await future

    # --- signals -----------------------------------------------------------------------

    def expect_signal(self, signal: str, timeout: timedelta | None) -> Awaitable[JsonValue]:
        """Take the next signal of that name (see ``WorkflowRuntime``)."""
        return self._signals.expect(signal, timeout)

    def on_signal(self, signal: str, handler: Callable[[JsonValue], object]) -> Disposable:
        """Register a signal handler; kept signals are delivered first."""
        return self._signals.on(signal, handler)

    async def send_signal(self, execution_id: str, signal: str, payload: JsonValue) -> None:
        """Send a signal to another execution, exactly once (see ``WorkflowRuntime``)."""
        seq = self._new_seq()
        event = SignalSent(
            timestamp=self._now, seq=seq, execution_id=execution_id, signal=signal, payload=payload
        )
        if self._next(event):
            message_id = _ids.sent_signal_message_id(self.id, seq)
            self._out.messages.append(
                InboundMessage(
                    id=message_id,
                    execution_id=execution_id,
                    event=SignalReceived(
                        timestamp=self._now, signal=signal, payload=payload, id=message_id
                    ),
                )
            )

    # --- events, conditions, identity and randomness ------------------------------------

    async def publish(self, events: Sequence[tuple[str, JsonValue]]) -> None:
        """Publish events exactly once (see ``WorkflowRuntime``)."""
        seq = self._new_seq()
        published = [PublishedEvent(name=name, payload=payload) for name, payload in events]
        if self._next(EventsPublished(timestamp=self._now, seq=seq, events=published)):
            self._out.published.extend(published)

    async def condition(self, predicate: Callable[[], bool], timeout: timedelta | None) -> bool:
        """Wait until ``predicate()`` holds (see ``WorkflowRuntime``)."""
        if predicate():
            return True
        future: asyncio.Future[bool] = self._loop.create_future()
        self._conditions.append((predicate, future))
        if timeout is None:
            return await future
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout.total_seconds())
        except TimeoutError:
            future.cancel()
            return False

    def info(self) -> ExecutionInfo:
        """Return the execution's identity."""
        return self._info

    def now(self) -> datetime:
        """Return the deterministic current time."""
        return self._now

    def random(self) -> float:
        """Return a deterministic random float."""
        return self._rng.random()

    def uuid4(self) -> uuid.UUID:
        """Return a deterministic random UUID."""
        return uuid.UUID(int=self._rng.getrandbits(128), version=4)

    # --- versioning and replay ------------------------------------------------------------

    def is_replaying(self) -> bool:
        """Tell whether the code re-runs what the history records (see ``WorkflowRuntime``).

        While the last recorded event is applied, the code runs past the record
        once it has made every recorded call: that is where an execution's first
        step runs, and where a step after a cache miss goes beyond its history.
        """
        return self._replaying and (
            self._replay_more
            or self._recorded.terminal is not None
            or self._recorded.has_call_after(self._seq)
        )

    def patched(self, patch: str, *, deprecated: bool) -> bool:
        """Tell whether the execution takes ``patch`` (see ``eventual.patched``)."""
        if self._patches.get(patch):
            return True
        after = self._recorded.patches.get(patch)
        if after is not None:
            taken = self._seq >= after  # a check made again in a loop replays as it ran
        else:
            taken = deprecated or not self.is_replaying()
            if taken and not self.is_replaying() and self.ending is None:
                self._out.events.append(
                    WorkflowPatched(
                        timestamp=self._now, patch=patch, after_seq=self._seq, deprecated=deprecated
                    )
                )
        if taken:
            self._patches[patch] = True
        return taken

    def continue_as_new(self, input: Any) -> NoReturn:
        """End this run; the execution goes on with ``input`` (``eventual.continue_as_new``)."""
        raise ContinueAsNew(self.workflow.encode_input(input))

    def log_tags(self) -> dict[str, Any]:
        """Return what a log record of the workflow code carries (see ``eventual.logger``)."""
        return {"execution_id": self.id, "seq": self._seq}

    def keep_log(self, level: str, message: str) -> None:
        """Keep a log record with the execution, unless replaying (see ``eventual.logger``)."""
        # Counted on replay too, so a step that runs again gives its lines the same keys.
        n = self._log_counts.get(self._seq, 0)
        self._log_counts[self._seq] = n + 1
        if self.is_replaying() or self.ending is not None:
            return
        # A run after ``continue_as_new`` starts at the sequence number where the
        # one before ended, so its lines are told apart by their run.
        run = self.started.run
        key = f"{self._seq}|workflow|{n}" + (f"|run|{run}" if run > 1 else "")
        self._out.logs.append(
            LogEntry(
                execution_id=self.id,
                key=key,
                time=self._now,
                level=level,
                message=message,
                seq=self._seq,
            )
        )

    def patches(self) -> list[str]:
        """Return the patches this execution took, in the order it took them."""
        return list(self._patches)

    def execution_control(self) -> ExecutionControl:
        """Return what handles use from inside this workflow."""
        return InWorkflowControl(self)
