"""One live workflow execution: its coroutine, its loop and its pending calls.

The instance is pure: it is fed history events (recorded ones when replaying,
new inbound ones when running) and produces new history events and commands
(:class:`StepOutput`), without I/O. Events are applied one at a time, and the
loop runs until it is quiet after each, so how the orchestrator batched inbound
events never changes what the workflow observes: replaying a history gives the
same calls whatever the original batching was.

Each durable call takes the next sequence number. When a history is replayed,
a call whose number is already recorded is checked against the record (kind and
name) instead of being emitted again; a mismatch is a ``DeterminismError``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random as _random
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from eventual import (
    DeterminismError,
    EventualError,
    ExecutionInfo,
    ExecutionStatus,
    HeartbeatTimeout,
    Service,
    TaskError,
    Timeout,
    WorkflowFailed,
)
from eventual.codec import JsonValue, encode
from eventual.history import (
    ChildWorkflowFailed,
    ChildWorkflowScheduled,
    ChildWorkflowSucceeded,
    EventsPublished,
    ExecutionRecord,
    HistoryEvent,
    PublishedEvent,
    SequencedEvent,
    SignalReceived,
    SignalSent,
    TaskFailed,
    TaskHeartbeatTimedOut,
    TaskRetryScheduled,
    TaskScheduled,
    TaskSucceeded,
    TaskTimedOut,
    TimerFired,
    TimerScheduled,
    WorkflowCancelled,
    WorkflowCancelRequested,
    WorkflowStarted,
    WorkflowSucceeded,
    WorkflowTimedOut,
    error_bases,
)
from eventual.history import WorkflowFailed as WorkflowFailedEvent
from eventual.spi import (
    Disposable,
    ExecutionControl,
    InboundMessage,
    TaskCallOptions,
    TaskRequest,
    TimerRequest,
    set_workflow_runtime,
)

from .. import _ids
from .._start import new_execution
from ._calls import Call, Handler, InWorkflowControl, describe
from ._loop import DeterministicLoop
from ._output import StepOutput

__all__ = ["WorkflowInstance"]

log = logging.getLogger("eventual.engine")

# Endings the workflow code produces; a WorkflowTimedOut is applied like an inbound event.
_ENDINGS = (WorkflowSucceeded, WorkflowFailedEvent, WorkflowCancelled)
_TERMINAL = (*_ENDINGS, WorkflowTimedOut)
_SCHEDULED = (TaskScheduled, TimerScheduled, ChildWorkflowScheduled, SignalSent, EventsPublished)


class WorkflowInstance:
    """A workflow execution in memory, driven by history events."""

    def __init__(self, service: Service, started: WorkflowStarted) -> None:
        self.service = service
        self.started = started
        self.id = started.execution_id
        self.workflow = service.workflow(started.workflow)
        self.length = 0  # history events applied or produced
        self.status = ExecutionStatus.RUNNING
        self.result: JsonValue = None
        self.error: tuple[str, str] | None = None
        self._now = started.timestamp
        self._rng = _random.Random(started.seed)
        self._seq = 0
        # typeshed marks the I/O methods abstract; workflow code must never reach them.
        self._loop = DeterministicLoop(self)  # type: ignore[abstract]
        self._main: asyncio.Task[Any] | None = None
        self._calls: dict[int, Call] = {}
        self._timer_seqs: dict[int, int] = {}  # id(TimerHandle) -> seq
        self._children: dict[str, Call] = {}
        self._child_results: dict[str, asyncio.Future[JsonValue]] = {}
        self._signals: dict[str, deque[JsonValue]] = {}
        self._waiters: dict[str, deque[asyncio.Future[JsonValue]]] = {}
        self._handlers: dict[str, list[Handler]] = {}
        self._conditions: list[tuple[Callable[[], bool], asyncio.Future[bool]]] = []
        self._seen_signals: set[str] = set()
        self._recorded: dict[int, SequencedEvent] = {}
        self._recorded_terminal: HistoryEvent | None = None
        self._out = StepOutput()
        self.on_call: Callable[[int], None] | None = None
        self._nondeterminism: DeterminismError | None = None
        self._cancel_requested = False
        self._ended = False
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
        instance = cls(service, history[0])
        instance.on_call = on_call
        for event in history:
            if isinstance(event, _SCHEDULED):
                assert isinstance(event, SequencedEvent)
                instance._recorded[event.seq] = event
            elif isinstance(event, _TERMINAL):
                instance._recorded_terminal = event
        for event in history:
            if isinstance(event, (*_SCHEDULED, *_ENDINGS)):
                continue
            instance._apply(event, recorded=True)
        instance.length = len(history)
        # The first divergence explains the rest: report a contradicting call first.
        if instance._nondeterminism is not None:
            raise instance._nondeterminism
        missing = sorted(set(instance._recorded) - set(range(1, instance._seq + 1)))
        if missing:
            seq = missing[0]
            raise DeterminismError(
                f"{instance.id}: history records {describe(instance._recorded[seq])} at "
                f"sequence {seq}, but the workflow code never makes that call",
                seq=seq,
                recorded=describe(instance._recorded[seq]),
            )
        output, instance._out = instance._out, StepOutput()
        instance._recorded.clear()
        instance.length += len(output.events)
        return instance, output

    def apply(self, events: Sequence[HistoryEvent]) -> StepOutput:
        """Apply new inbound events in order; return what to append and start.

        Raises:
            DeterminismError: The workflow code made a call that contradicts its history.
        """
        for event in events:
            self._apply(event, recorded=False)
        if self._nondeterminism is not None:
            raise self._nondeterminism
        output, self._out = self._out, StepOutput()
        self.length += len(output.events)
        return output

    @property
    def ended(self) -> bool:
        """Whether the execution has reached a terminal state."""
        return self._ended

    def record(self, base: ExecutionRecord) -> ExecutionRecord:
        """Return ``base`` updated with this instance's status and outcome."""
        if not self._ended:
            return base
        error_type, message = self.error if self.error else (None, None)
        return ExecutionRecord(
            id=base.id,
            workflow=base.workflow,
            name=base.name,
            status=self.status,
            input=base.input,
            input_digest=base.input_digest,
            parent_id=base.parent_id,
            started_at=base.started_at,
            ended_at=self._now,
            result=self.result,
            error_type=error_type,
            message=message,
        )

    # --- applying events ---------------------------------------------------------------

    def _apply(self, event: HistoryEvent, *, recorded: bool) -> None:
        if self._ended:
            return  # late completions and signals for an ended execution are dropped
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
                del self._calls[seq]
                self._resolve(call, event.result)
            case TaskFailed() | TaskTimedOut() | TaskHeartbeatTimedOut():
                if self._task_call(event.seq, event.attempt) is None:
                    return
                self._tick(event)
                appended = self._task_failed(event, recorded)
            case TaskRetryScheduled(seq=seq, attempt=attempt):
                call = self._calls.get(seq)
                if call is None:
                    return
                self._tick(event)
                call.attempt = attempt
            case TimerFired(seq=seq):
                call = self._calls.get(seq)
                if call is None or call.kind != "timer":
                    return
                self._tick(event)
                del self._calls[seq]
                if call.fire is not None:
                    call.fire()
            case SignalReceived(signal=name, payload=payload, id=signal_id):
                if signal_id:
                    if signal_id in self._seen_signals:
                        return
                    self._seen_signals.add(signal_id)
                self._tick(event)
                self._deliver_signal(name, payload)
            case ChildWorkflowSucceeded(seq=seq) | ChildWorkflowFailed(seq=seq):
                call = self._calls.get(seq)
                if call is None or call.kind != "child":
                    return
                self._tick(event)
                del self._calls[seq]
                self._children.pop(call.child_id, None)
                self._child_done(call, event)
            case WorkflowCancelRequested():
                if self._cancel_requested:
                    return
                self._tick(event)
                self._cancel_requested = True
                if self._main is not None:
                    self._main.cancel()
            case WorkflowTimedOut():
                self._tick(event)
                self._end(ExecutionStatus.TIMED_OUT, event=event if not recorded else None)
                return
            case _:
                raise EventualError(f"{self.id}: cannot apply history event {event!r}")
        if appended is not None and not recorded:
            self._out.events.append(appended)
        self._run()

    def _tick(self, event: HistoryEvent) -> None:
        if event.timestamp > self._now:
            self._now = event.timestamp

    def _task_call(self, seq: int, attempt: int) -> Call | None:
        call = self._calls.get(seq)
        if call is None or call.kind != "task" or call.attempt != attempt:
            return None  # a stale or duplicate completion: at-least-once delivery
        return call

    def _task_failed(
        self, event: TaskFailed | TaskTimedOut | TaskHeartbeatTimedOut, recorded: bool
    ) -> HistoryEvent | None:
        call = self._task_call(event.seq, event.attempt)
        if call is None:
            return None
        bases: list[str]
        if isinstance(event, TaskFailed):
            error: BaseException = TaskError(event.error_type, event.message)
            error_type, message, bases = event.error_type, event.message, event.error_bases
        elif isinstance(event, TaskHeartbeatTimedOut):
            message = f"task {call.task!r} attempt {event.attempt} missed its heartbeat"
            error, error_type = HeartbeatTimeout(message), HeartbeatTimeout.__name__
            bases = error_bases(HeartbeatTimeout)
        else:
            message = f"task {call.task!r} attempt {event.attempt} timed out"
            error, error_type, bases = Timeout(message), Timeout.__name__, error_bases(Timeout)
        if not recorded:
            policy = self.service.task(call.task).retry
            if policy is not None and policy.should_retry(event.attempt, error_type, bases):
                call.attempt = event.attempt + 1
                retry_at = self._now + policy.delay_before(call.attempt)
                retry = TaskRetryScheduled(
                    timestamp=self._now,
                    seq=call.seq,
                    attempt=call.attempt,
                    retry_at=retry_at,
                    error_type=error_type,
                    message=message,
                )
                self._out.events.append(retry)
                self._out.tasks.append(self._task_request(call, retry_at))
                return None
        del self._calls[event.seq]
        if call.future is not None and not call.future.done():
            call.future.set_exception(error)
        return event

    def _child_done(self, call: Call, event: ChildWorkflowSucceeded | ChildWorkflowFailed) -> None:
        futures = [f for f in (call.future, self._child_results.get(call.child_id)) if f]
        for future in futures:
            if future.done():
                continue
            if isinstance(event, ChildWorkflowSucceeded):
                future.set_result(event.result)
            else:
                future.set_exception(WorkflowFailed(event.error_type, event.message))

    def _resolve(self, call: Call, value: JsonValue) -> None:
        if call.future is not None and not call.future.done():
            call.future.set_result(value)

    def _deliver_signal(self, name: str, payload: JsonValue) -> None:
        handlers = self._handlers.get(name)
        if handlers:
            for handler in list(handlers):
                self._call_handler(handler, payload)
            return
        waiters = self._waiters.get(name)
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(payload)
                return
        self._signals.setdefault(name, deque()).append(payload)

    def _call_handler(self, handler: Handler, payload: JsonValue) -> None:
        result = handler.fn(payload)
        if asyncio.iscoroutine(result):
            self._loop.create_task(result, context=self._context)

    # --- running the coroutine -------------------------------------------------------------

    def _start(self) -> None:
        self._context = contextvars.copy_context()
        # Bound once in the workflow's own context; every task it creates copies it.
        self._context.run(set_workflow_runtime, self)
        try:
            data = self.workflow.decode_input(self.started.input)
        except Exception as error:
            self._end(ExecutionStatus.FAILED, error=(type(error).__name__, str(error)))
            return
        self._main = self._loop.create_task(self.workflow.fn(data), context=self._context)

    def _run(self) -> None:
        while True:
            self._loop.run_ready()
            if not self._check_conditions():
                break
        main = self._main
        if main is not None and main.done() and not self._ended:
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
            self._end(
                ExecutionStatus.CANCELLED, error=("CancelledError", "the execution was cancelled")
            )
            return
        error = main.exception()
        if error is not None:
            if isinstance(error, DeterminismError):
                self._nondeterminism = self._nondeterminism or error
            self._end(ExecutionStatus.FAILED, error=(type(error).__name__, str(error)))
            return
        try:
            result = encode(main.result(), self.workflow.output_type)
        except Exception as error:
            self._end(
                ExecutionStatus.FAILED,
                error=(
                    type(error).__name__,
                    f"the workflow's result cannot be serialised: {error}",
                ),
            )
            return
        self._end(ExecutionStatus.SUCCEEDED, result=result)

    def _end(
        self,
        status: ExecutionStatus,
        *,
        result: JsonValue = None,
        error: tuple[str, str] | None = None,
        event: HistoryEvent | None = None,
    ) -> None:
        self._ended = True
        self.status = status
        self.result = result
        if status is ExecutionStatus.TIMED_OUT:
            error = ("Timeout", f"workflow {self.workflow.name!r} exceeded its timeout")
        self.error = error
        main = self._main
        if main is not None and not main.done():
            main.cancel()  # unwind the abandoned coroutine; what it does now is ignored
            self._loop.run_ready()
        if self._recorded_terminal is not None:
            return  # the replayed history already records the ending and its effects
        now = self._now
        if event is not None:
            self._out.events.append(event)
        elif status is ExecutionStatus.SUCCEEDED:
            self._out.events.append(WorkflowSucceeded(timestamp=now, result=result))
        elif status is ExecutionStatus.CANCELLED:
            self._out.events.append(WorkflowCancelled(timestamp=now))
        elif status is not ExecutionStatus.TIMED_OUT:
            assert error is not None
            self._out.events.append(
                WorkflowFailedEvent(timestamp=now, error_type=error[0], message=error[1])
            )
        self._out.cancel_timers.append(_ids.timer_id(self.id, "workflow_timeout"))
        for seq, call in self._calls.items():
            if call.kind == "timer":
                self._out.cancel_timers.append(_ids.timer_id(self.id, "timer", seq))
            elif call.kind == "task":
                # An attempt still queued (a retry waiting out its back-off) or
                # running must not run on for an execution that has ended.
                token = _ids.TaskToken(execution_id=self.id, seq=seq, attempt=call.attempt)
                self._out.forget_tasks.append(str(token))
                self._out.cancel_timers.extend(_ids.deadline_timer_ids(token))
        if status in (ExecutionStatus.CANCELLED, ExecutionStatus.TIMED_OUT):
            for child in self._children:
                self._out.messages.append(
                    InboundMessage(
                        id=_ids.child_cancel_message_id(self.id, child),
                        execution_id=child,
                        event=WorkflowCancelRequested(
                            timestamp=now, reason=f"parent {status.value}"
                        ),
                    )
                )
        if self.started.parent_id is not None and self.started.parent_seq is not None:
            outcome: HistoryEvent
            if status is ExecutionStatus.SUCCEEDED:
                outcome = ChildWorkflowSucceeded(
                    timestamp=now, seq=self.started.parent_seq, result=result
                )
            else:
                assert self.error is not None
                outcome = ChildWorkflowFailed(
                    timestamp=now,
                    seq=self.started.parent_seq,
                    error_type=self.error[0],
                    message=self.error[1],
                )
            self._out.messages.append(
                InboundMessage(
                    id=_ids.child_outcome_message_id(self.id),
                    execution_id=self.started.parent_id,
                    event=outcome,
                )
            )

    # --- durable calls -------------------------------------------------------------------------

    def _next(self, event: SequencedEvent) -> bool:
        """Check a new call against the record; return whether it is new."""
        recorded = self._recorded.get(event.seq)
        if recorded is None:
            self._out.events.append(event)
            return True
        if describe(recorded) != describe(event) or type(recorded) is not type(event):
            error = DeterminismError(
                f"{self.id}: nondeterministic workflow code at sequence {event.seq}: the history "
                f"records {describe(recorded)}, the code now calls {describe(event)}",
                seq=event.seq,
                recorded=describe(recorded),
                new=describe(event),
            )
            self._nondeterminism = self._nondeterminism or error
            raise error
        return False

    def _new_seq(self) -> int:
        if self._ended:
            raise asyncio.CancelledError()
        self._seq += 1
        if self.on_call is not None:
            # Runs inside the workflow's own call (a debugger stopped here shows the
            # workflow's frames one level up).
            self.on_call(self._seq)
        return self._seq

    def _task_request(self, call: Call, not_before: datetime | None) -> TaskRequest:
        definition = self.service.task(call.task)
        return TaskRequest(
            token=_ids.task_token(self.id, call.seq, call.attempt),
            execution_id=self.id,
            seq=call.seq,
            task=call.task,
            args=call.args,
            attempt=call.attempt,
            not_before=not_before,
            timeout=definition.timeout,
            heartbeat_timeout=definition.heartbeat_timeout,
        )

    def call_task(
        self, task: str, args: Sequence[JsonValue], options: TaskCallOptions
    ) -> Awaitable[JsonValue]:
        """Schedule a task (see ``WorkflowRuntime``)."""
        self.service.task(task)  # a clear error for a task outside the service
        seq = self._new_seq()
        call = Call(seq, "task", self._loop.create_future())
        call.task = task
        call.args = list(args)
        self._calls[seq] = call
        if self._next(TaskScheduled(timestamp=self._now, seq=seq, task=task, args=call.args)):
            self._out.tasks.append(self._task_request(call, None))
        assert call.future is not None
        return call.future

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
        call = Call(seq, "timer", None)
        call.fire = fire
        self._calls[seq] = call
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
        if seq is not None and self._calls.pop(seq, None) is not None and not self._ended:
            self._out.cancel_timers.append(_ids.timer_id(self.id, "timer", seq))

    def report_error(self, context: dict[str, Any]) -> None:
        """Log an error no workflow code caught (the loop's exception handler)."""
        log.debug("%s: %s", self.id, context.get("message"), exc_info=context.get("exception"))

    def _start_child(self, workflow: str, input: JsonValue, name: str | None, wait: bool) -> Call:
        definition = self.service.workflow(workflow)
        seq = self._new_seq()
        child_name = name or _ids.child_execution_name(self.started.name, seq)
        child_id = _ids.execution_id(workflow, child_name)
        call = Call(seq, "child", self._loop.create_future() if wait else None)
        call.child_id = child_id
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
                definition, child_name, input, now=self._now, parent_id=self.id, parent_seq=seq
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

    def expect_signal(self, signal: str, timeout: timedelta | None) -> Awaitable[JsonValue]:
        """Take the next signal of that name (see ``WorkflowRuntime``)."""
        future: asyncio.Future[JsonValue] = self._loop.create_future()
        kept = self._signals.get(signal)
        if kept:
            future.set_result(kept.popleft())
            return future
        self._waiters.setdefault(signal, deque()).append(future)
        if timeout is not None:

            def expire() -> None:
                if not future.done():
                    future.set_exception(Timeout(f"no signal {signal!r} arrived within {timeout}"))

            handle = self._loop.call_later(timeout.total_seconds(), expire)
            future.add_done_callback(lambda _: handle.cancel())
        return future

    def on_signal(self, signal: str, handler: Callable[[JsonValue], object]) -> Disposable:
        """Register a signal handler; kept signals are delivered first."""
        entry = Handler(self, signal, handler)
        self._handlers.setdefault(signal, []).append(entry)
        kept = self._signals.pop(signal, None)
        while kept:
            self._call_handler(entry, kept.popleft())
        return entry

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

    def handlers_of(self, signal: str) -> list[Handler]:
        """Return the live handler list of a signal (for ``Handler.dispose``)."""
        return self._handlers.setdefault(signal, [])

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

    def execution_control(self) -> ExecutionControl:
        """Return what handles use from inside this workflow."""
        return InWorkflowControl(self)
