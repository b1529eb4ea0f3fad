"""One live workflow execution: its coroutine, its loop and its pending calls.

The instance is pure: it is fed history events (recorded ones when replaying,
new inbound ones when running) and produces new history events and commands
(:class:`StepOutput`), without I/O. Events are applied one at a time, and the
loop runs until it is quiet after each, so how the orchestrator batched inbound
events never changes what the workflow observes: replaying a history gives the
same calls whatever the original batching was.

The pieces it is built from live beside it: the durable calls it waits for
(``_calls``), the check of calls against a replayed history (``_replaying``),
signals (``_signals``), what a failed task attempt means (``_failures``) and
what an ending writes (``_ending``). The calls the workflow code makes through
``WorkflowRuntime`` are in ``_runtime``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random as _random
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs

from eventual import (
    DeterminismError,
    EventualError,
    ExecutionInfo,
    ExecutionStatus,
    Service,
    WorkflowFailed,
)
from eventual.codec import JsonValue, encode
from eventual.history import (
    ChildWorkflowFailed,
    ChildWorkflowSucceeded,
    ExecutionRecord,
    HistoryEvent,
    SequencedEvent,
    SignalReceived,
    TaskFailed,
    TaskHeartbeatTimedOut,
    TaskRetryScheduled,
    TaskStarted,
    TaskSucceeded,
    TaskTimedOut,
    TimerFired,
    WorkflowCancelRequested,
    WorkflowContinuedAsNew,
    WorkflowStarted,
    WorkflowTimedOut,
)
from eventual.spi import TaskRequest, set_workflow_runtime

from .. import _ids
from .._schedules._builtins import task_of, workflow_of
from ._calls import Call, ChildCall, TaskCall, TimerCall
from ._ending import ContinueAsNew, Ending, ended_record, write_ending
from ._failures import attempt_failure
from ._loop import DeterministicLoop
from ._output import StepOutput
from ._repeats import AppliedIds
from ._replaying import ENDINGS, MARKERS, SCHEDULED, Recorded
from ._runtime import WorkflowCalls
from ._signals import SignalBox

__all__ = ["WorkflowInstance"]

log = logging.getLogger("eventual.engine")

_Outcome = TypeVar("_Outcome", TaskSucceeded, TaskFailed)

_FOR_EXECUTION = (SignalReceived, WorkflowCancelRequested, WorkflowTimedOut)
"""Inbound events addressed to the execution, whichever run is current."""


class WorkflowInstance(WorkflowCalls):
    """A workflow execution in memory, driven by history events."""

    def __init__(self, service: Service, started: WorkflowStarted) -> None:
        self.service = service
        self.started = started
        self.id = started.execution_id
        self.workflow = workflow_of(service, started.workflow)
        self.length = 0  # history events applied or produced
        self.ending: Ending | None = None
        """Why the execution ended; None while it runs."""
        self.continued: list[HistoryEvent] | None = None
        """After ``continue_as_new``: the next run's first events (written to the output too)."""
        self.passed_on: list[HistoryEvent] = []
        """Signals, cancel and timeout requests after ``continue_as_new``: the next run's."""
        self.run_start = 0
        """Where this run's ``WorkflowStarted`` is in the execution's history."""
        self._now = started.timestamp
        self._rng = _random.Random(started.seed)
        self._seq = started.seq_base
        # typeshed marks the I/O methods abstract; workflow code must never reach them.
        self._loop = DeterministicLoop(self)  # type: ignore[abstract]
        self._main: asyncio.Task[Any] | None = None
        self._context = contextvars.copy_context()
        self._calls: dict[int, Call] = {}
        self._timer_seqs: dict[int, int] = {}  # id(TimerHandle) -> seq
        self._children: dict[str, ChildCall] = {}
        self._child_results: dict[str, asyncio.Future[JsonValue]] = {}
        self._signals = SignalBox(self._loop, self._spawn)
        self._applied = AppliedIds(started.applied_ids, started.timestamp)
        self._conditions: list[tuple[Callable[[], bool], asyncio.Future[bool]]] = []
        self._recorded = Recorded(self.id)
        self._out = StepOutput()
        self.on_call: Callable[[int], None] | None = None
        self._cancel_requested = False
        self._replaying = False  # applying an event the history records
        self._replay_more = False  # ... and not the last one it records
        self._patches: dict[str, bool] = {}
        self._log_counts: dict[int, int] = {}
        self._info = ExecutionInfo(
            execution_id=started.execution_id,
            workflow=started.workflow,
            name=started.name,
            parent_id=started.parent_id,
            started_at=started.timestamp,
        )

    # --- driving -------------------------------------------------------------------

    @classmethod
    def from_history(
        cls,
        service: Service,
        history: Sequence[HistoryEvent],
        *,
        on_call: Callable[[int], None] | None = None,
    ) -> tuple[WorkflowInstance, StepOutput]:
        """Rebuild an instance by replaying ``history``.

        Args:
            service: Where the workflow's code is found.
            history: The recorded events, ``WorkflowStarted`` first.
            on_call: Called with each new sequence number as the code makes a
                durable call (replay's ``--break-at`` uses it).

        Returns:
            The instance and what the replay produced beyond the history (calls
            made after the last recorded event, which were never committed).

        Raises:
            DeterminismError: The code no longer makes the recorded calls.
        """
        if not history or not isinstance(history[0], WorkflowStarted):
            raise EventualError("a history must begin with WorkflowStarted")
        # Only the last run replays: the runs before it ended with continue_as_new.
        run_start = max(i for i, e in enumerate(history) if isinstance(e, WorkflowStarted))
        history = history[run_start:]
        started = history[0]
        assert isinstance(started, WorkflowStarted)
        instance = cls(service, started)
        instance.run_start = run_start
        instance.on_call = on_call
        instance._recorded.read(history)
        inbound = [e for e in history if not isinstance(e, (*SCHEDULED, *ENDINGS, *MARKERS))]
        instance._replaying = True
        for index, event in enumerate(inbound):
            instance._replay_more = index < len(inbound) - 1
            instance._apply(event, recorded=True)
        instance._replaying = instance._replay_more = False
        instance.length = len(history)
        instance._recorded.check_complete(range(1, instance._seq + 1))
        output, instance._out = instance._out, StepOutput()
        instance._recorded.forget_calls()
        instance.length += len(output.events)
        return instance, output

    @classmethod
    def next_run(
        cls,
        service: Service,
        first: Sequence[HistoryEvent],
        *,
        run_start: int,
        passed_on: Sequence[HistoryEvent] = (),
    ) -> tuple[WorkflowInstance, StepOutput]:
        """Run the first step of the run a ``continue_as_new`` wrote.

        Unlike :meth:`from_history`, nothing here is replayed: the run that ended
        wrote ``first`` (its ``WorkflowStarted`` and the signals it hands over) in
        the same step, so the code runs as new code throughout (it takes patches
        and logs). Replaying the run later reads what this step recorded.

        Args:
            service: Where the workflow's code is found.
            first: The next run's ``WorkflowStarted``, then the signals handed over.
            run_start: Where that ``WorkflowStarted`` is in the execution's history.
            passed_on: Inbound events of the same batch that arrived after the
                run before continued (``passed_on`` of that run): applied next,
                in order, and output as new events of this run.

        Returns:
            The instance and what its first step produced beyond ``first``.
        """
        started = first[0]
        if not isinstance(started, WorkflowStarted):
            raise EventualError("a run must begin with WorkflowStarted")
        instance = cls(service, started)
        instance.run_start = run_start
        for event in first:
            instance._apply(event, recorded=True)  # written already: applied, not output again
        for event in passed_on:
            instance._apply(event, recorded=False)
        output, instance._out = instance._out, StepOutput()
        instance.length = len(first) + len(output.events)
        return instance, output

    def apply(self, events: Sequence[HistoryEvent]) -> StepOutput:
        """Apply new inbound events in order; return what to append and start.

        Raises:
            DeterminismError: The workflow code made a call that contradicts its history.
        """
        for event in events:
            self._apply(event, recorded=False)
        if self._recorded.nondeterminism is not None:
            raise self._recorded.nondeterminism
        output, self._out = self._out, StepOutput()
        self.length += len(output.events)
        return output

    @property
    def run(self) -> int:
        """Which run of the execution this instance runs (1 until ``continue_as_new``)."""
        return self.started.run

    @property
    def ended(self) -> bool:
        """Whether the execution has reached a terminal state."""
        return self.ending is not None

    @property
    def status(self) -> ExecutionStatus:
        """``RUNNING``, or the status it ended with."""
        return self.ending.status if self.ending is not None else ExecutionStatus.RUNNING

    @property
    def result(self) -> JsonValue:
        """The JSON result, once it succeeded."""
        return self.ending.result if self.ending is not None else None

    @property
    def error(self) -> tuple[str, str] | None:
        """``(error type, message)`` once it failed, was cancelled or timed out."""
        return self.ending.error if self.ending is not None else None

    def record(self, base: ExecutionRecord) -> ExecutionRecord:
        """Return ``base`` updated with this instance's status and outcome."""
        ending = self.ending
        if ending is None:
            if (base.run, base.run_start) == (self.run, self.run_start):
                return base
            return attrs.evolve(base, run=self.run, run_start=self.run_start)
        return ended_record(
            base,
            ending.status,
            self._now,
            result=ending.result,
            error_type=ending.error_type,
            message=ending.message,
            run=self.run,
            run_start=self.run_start,
        )

    # --- applying events ---------------------------------------------------------------

    def _apply(self, event: HistoryEvent, *, recorded: bool) -> None:
        if self.continued is not None and not recorded and isinstance(event, _FOR_EXECUTION):
            # Meant for the execution, not this run: the next run applies them after
            # its first events, in the same step (so they are recorded in its history).
            # A message this run applied already is a redelivery, not passed on.
            message_id = "" if isinstance(event, WorkflowTimedOut) else event.id
            if not message_id or self._first_arrival(message_id, event):
                self.passed_on.append(event)
            return
        if self.ending is not None or self.continued is not None:
            return  # late completions and signals for an ended run are dropped
        # The clock moves only for events that are applied (and so recorded): a
        # dropped duplicate must not change what now() returns, or a replay would
        # see another time.
        appended: HistoryEvent | None = event
        match event:
            case WorkflowStarted():
                if self._main is not None:
                    return
                self._tick(event)
                self._start()
                appended = None if recorded else event
            case TaskSucceeded(seq=seq, attempt=attempt):
                call = self._task_call(seq, attempt)
                if call is None:
                    return
                self._tick(event)
                appended = self._started(event, recorded)
                del self._calls[seq]
                if not call.future.done():
                    call.future.set_result(event.result)
            case TaskFailed() | TaskTimedOut() | TaskHeartbeatTimedOut():
                if self._task_call(event.seq, event.attempt) is None:
                    return
                self._tick(event)
                if isinstance(event, TaskFailed):
                    event = self._started(event, recorded)
                appended = self._task_failed(event, recorded)
            case TaskRetryScheduled(seq=seq, attempt=attempt):
                retried = self._calls.get(seq)
                if not isinstance(retried, TaskCall):
                    return
                self._tick(event)
                retried.attempt = attempt
            case TimerFired(seq=seq):
                timer = self._calls.get(seq)
                if not isinstance(timer, TimerCall):
                    return
                self._tick(event)
                del self._calls[seq]
                timer.fire()
            case SignalReceived(signal=name, payload=payload, id=signal_id):
                if signal_id and not self._first_arrival(signal_id, event):
                    return
                self._tick(event)
                self._signals.deliver(name, payload)
            case ChildWorkflowSucceeded(seq=seq) | ChildWorkflowFailed(seq=seq):
                child = self._calls.get(seq)
                if not isinstance(child, ChildCall):
                    return
                self._tick(event)
                del self._calls[seq]
                self._children.pop(child.child_id, None)
                self._child_done(child, event)
            case WorkflowCancelRequested(id=request_id):
                if self._cancel_requested or (
                    request_id and not self._first_arrival(request_id, event)
                ):
                    return
                self._tick(event)
                self._cancel_requested = True
                if self._main is not None:
                    self._main.cancel()
            case WorkflowTimedOut():
                self._tick(event)
                self._end(
                    Ending.timed_out(self.workflow.name), event=event if not recorded else None
                )
                return
            case _:
                raise EventualError(f"{self.id}: cannot apply history event {event!r}")
        if appended is not None and not recorded:
            self._out.events.append(appended)
        self._run()

    def _first_arrival(self, message_id: str, event: HistoryEvent) -> bool:
        """Whether the message carrying ``event`` is applied for the first time (noted if so).

        Runs before this one applied the ids ``WorkflowStarted.applied_ids`` names.
        """
        return self._applied.first_arrival(message_id, max(self._now, event.timestamp))

    def _started(self, outcome: _Outcome, recorded: bool) -> _Outcome:
        """Record when the attempt started (``TaskStarted``), and the outcome without it."""
        if outcome.started_at is None:
            return outcome
        if not recorded:
            started = TaskStarted(
                timestamp=outcome.started_at, seq=outcome.seq, attempt=outcome.attempt
            )
            self._out.events.append(started)
        return attrs.evolve(outcome, started_at=None)

    def _tick(self, event: HistoryEvent) -> None:
        if event.timestamp > self._now:
            self._now = event.timestamp

    def _task_call(self, seq: int, attempt: int) -> TaskCall | None:
        call = self._calls.get(seq)
        if not isinstance(call, TaskCall) or call.attempt != attempt:
            return None  # a stale or duplicate completion: at-least-once delivery
        return call

    def _task_failed(
        self, event: TaskFailed | TaskTimedOut | TaskHeartbeatTimedOut, recorded: bool
    ) -> HistoryEvent | None:
        call = self._task_call(event.seq, event.attempt)
        if call is None:
            return None
        failure = attempt_failure(event, call.task)
        if not recorded:
            policy = task_of(self.service, call.task).retry
            if policy is not None and policy.should_retry(
                event.attempt, failure.error_type, failure.bases
            ):
                call.attempt = event.attempt + 1
                retry_at = self._now + policy.delay_before(call.attempt)
                retry = TaskRetryScheduled(
                    timestamp=self._now,
                    seq=call.seq,
                    attempt=call.attempt,
                    retry_at=retry_at,
                    error_type=failure.error_type,
                    message=failure.message,
                )
                self._out.events.append(retry)
                self._out.tasks.append(self._task_request(call, retry_at))
                return None
        del self._calls[event.seq]
        if not call.future.done():
            call.future.set_exception(failure.error)
        return event

    def _child_done(
        self, call: ChildCall, event: ChildWorkflowSucceeded | ChildWorkflowFailed
    ) -> None:
        futures = [f for f in (call.future, self._child_results.get(call.child_id)) if f]
        for future in futures:
            if future.done():
                continue
            if isinstance(event, ChildWorkflowSucceeded):
                future.set_result(event.result)
            else:
                future.set_exception(WorkflowFailed(event.error_type, event.message))

    # --- running the coroutine -------------------------------------------------------------

    def _spawn(self, coroutine: Any) -> None:
        self._loop.create_task(coroutine, context=self._context)

    def _start(self) -> None:
        self._context = contextvars.copy_context()
        # Bound once in the workflow's own context; every task it creates copies it.
        self._context.run(set_workflow_runtime, self)
        try:
            data = self.workflow.decode_input(self.started.input)
        except Exception as error:
            self._end(Ending.failed(type(error).__name__, str(error)))
            return
        self._main = self._loop.create_task(self.workflow.run(data), context=self._context)

    def _run(self) -> None:
        while True:
            self._loop.run_ready()
            if not self._check_conditions():
                break
        main = self._main
        if main is not None and main.done() and self.ending is None:
            self._finish(main)

    def _check_conditions(self) -> bool:
        changed = False
        for entry in list(self._conditions):
            predicate, future = entry
            if future.done():
                self._conditions.remove(entry)
                continue
            try:
                ok = predicate()
            except Exception as error:
                self._conditions.remove(entry)
                future.set_exception(error)
                changed = True
                continue
            if ok:
                self._conditions.remove(entry)
                future.set_result(True)
                changed = True
        return changed

    def _finish(self, main: asyncio.Task[Any]) -> None:
        if main.cancelled():
            self._end(Ending.cancelled())
            return
        error = main.exception()
        if isinstance(error, ContinueAsNew):
            self._continue(error.input)
            return
        if error is not None:
            if isinstance(error, DeterminismError):
                self._recorded.nondeterminism = self._recorded.nondeterminism or error
            self._end(Ending.failed(type(error).__name__, str(error)))
            return
        try:
            result = encode(main.result(), self.workflow.output_type)
        except Exception as error:
            self._end(
                Ending.failed(
                    type(error).__name__, f"the workflow's result cannot be serialised: {error}"
                )
            )
            return
        self._end(Ending.succeeded(result))

    def _continue(self, input: JsonValue) -> None:
        """End this run and write the next one's first events (see ``continue_as_new``)."""
        run = self.started.run
        out = self._out
        out.events.append(WorkflowContinuedAsNew(timestamp=self._now, input=input, run=run))
        for seq, call in self._calls.items():  # what this run left waiting stops with it
            if isinstance(call, TimerCall):
                out.cancel_timers.append(_ids.timer_id(self.id, "timer", seq))
            elif isinstance(call, TaskCall):
                token = _ids.TaskToken(execution_id=self.id, seq=seq, attempt=call.attempt)
                out.forget_tasks.append(str(token))
                out.cancel_timers.extend(_ids.deadline_timer_ids(token))
        started = attrs.evolve(
            self.started,
            timestamp=self._now,
            input=input,
            seed=self._rng.getrandbits(63),
            run=run + 1,
            seq_base=self._seq,
            # Ids of messages this run applied: a repeat reaching the next run is ignored.
            applied_ids=self._applied.handed_on(
                self._now, skip=lambda id_: _ids.is_carried_signal_id(self.id, id_)
            ),
        )
        # Signals this run did not consume are the next run's, in the order kept.
        carried = [
            SignalReceived(
                timestamp=self._now,
                signal=name,
                payload=payload,
                id=_ids.carried_signal_id(self.id, run + 1, n),
            )
            for n, (name, payload) in enumerate(self._signals.kept())
        ]
        self.continued = [started, *carried]
        out.events.extend(self.continued)

    def _end(self, ending: Ending, *, event: HistoryEvent | None = None) -> None:
        self.ending = ending
        main = self._main
        if main is not None and not main.done():
            main.cancel()  # unwind the abandoned coroutine; what it does now is ignored
            self._loop.run_ready()
        if self._recorded.terminal is not None:
            return  # the replayed history already records the ending and its effects
        write_ending(
            self._out,
            ending,
            started=self.started,
            now=self._now,
            event=event,
            calls=self._calls,
            children=self._children,
        )

    # --- durable calls: bookkeeping for ``_runtime`` ----------------------------------------

    def _next(self, event: SequencedEvent) -> bool:
        """Check a new call against the record; return whether it is new (and output it)."""
        if self._recorded.is_new(event):
            self._out.events.append(event)
            return True
        return False

    def _new_seq(self) -> int:
        if self.ending is not None or self.continued is not None:
            raise asyncio.CancelledError()
        self._seq += 1
        if self.on_call is not None:
            # Runs inside the workflow's own call (a debugger stopped here shows the
            # workflow's frames one level up).
            self.on_call(self._seq)
        return self._seq

    def _task_request(self, call: TaskCall, not_before: datetime | None) -> TaskRequest:
        definition = task_of(self.service, call.task)
        key = self.started.task_key
        return TaskRequest(
            token=_ids.task_token(self.id, call.seq, call.attempt),
            mac=None if key is None else _ids.task_mac(key, self.id, call.seq, call.attempt),
            execution_id=self.id,
            seq=call.seq,
            task=call.task,
            args=call.args,
            attempt=call.attempt,
            not_before=not_before,
            timeout=definition.timeout,
            heartbeat_timeout=definition.heartbeat_timeout,
        )
