"""Task and timer workers: run task attempts, turn due timers into inbound events.

Each worker does one unit of work per call, so a caller without background
loops (a function invoked per queue message) drives it directly:
:meth:`TaskWorker.run` runs one claimed attempt to its end and records its
outcome; :meth:`TimerWorker.fire` turns claimed timers into inbound messages
(:meth:`TimerWorker.fire_due` claims the due ones first). The engine's loops
call the same methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, cast

import attrs

from eventual import DefinitionNotFound, Service, TaskInfo
from eventual.codec import JsonValue, encode
from eventual.history import (
    HistoryEvent,
    TaskFailed,
    TaskHeartbeatTimedOut,
    TaskSucceeded,
    TaskTimedOut,
    TimerFired,
    WorkflowTimedOut,
    error_bases,
)
from eventual.spi import (
    Backend,
    Client,
    CompleteAsync,
    InboundBatch,
    InboundMessage,
    Lease,
    LogEntry,
    TaskRequest,
    TimerRequest,
    use_client,
    use_task_context,
)

from . import _ids
from ._clock import Clock
from ._logs import log_store
from ._schedules._builtins import task_of
from ._task_logs import LiveLogs

__all__ = ["TaskWorker", "TimerWorker"]

log = logging.getLogger("eventual.engine")

_EXTERNAL_HOLD = timedelta(days=36500)


class _TaskContext:
    """What a task body reaches through ``heartbeat()`` and ``task_info()``."""

    def __init__(self, worker: TaskWorker, request: TaskRequest, logs: LiveLogs) -> None:
        self._worker = worker
        self._request = request
        self.logs = logs
        self._info = TaskInfo(
            execution_id=request.execution_id,
            task=request.task,
            attempt=request.attempt,
            token=_ids.completion_token(request.token, request.mac),
        )

    def info(self) -> TaskInfo:
        return self._info

    def log_tags(self) -> dict[str, Any]:
        request = self._request
        return {
            "execution_id": request.execution_id,
            "seq": request.seq,
            "task": request.task,
            "attempt": request.attempt,
        }

    def keep_log(self, level: str, message: str) -> None:
        request = self._request
        self.logs.add(
            LogEntry(
                execution_id=request.execution_id,
                key=f"{request.seq}|{request.attempt}|{self.logs.next_number()}",
                time=self._worker.clock.now(),
                level=level,
                message=message,
                seq=request.seq,
                task=request.task,
                attempt=request.attempt,
            )
        )

    async def heartbeat(self, details: JsonValue) -> None:
        await self._worker.backend.tasks.heartbeat(
            self._request.token, self._worker.clock.now(), details
        )


def _ignore(*workers: str) -> None:
    """Wake nobody: the default of a worker without loops to wake."""


class TaskWorker:
    """Runs task attempts: claimed here (:meth:`claim_and_start`) or given (:meth:`run`).

    Args:
        service: Where the tasks' code is found.
        backend: Where attempts, timers and outcomes are stored.
        clock: The time of deadlines and outcomes.
        client: The ambient client while task bodies run.
        owner: This worker's name in claims.
        concurrency: Most attempts :meth:`claim_and_start` runs at once.
        threads: Most plain ``def`` bodies running at once, each on a thread of
            this worker's own pool (None: Python's default thread pool, whose
            size the worker does not know). While the service has ``def``
            tasks, :attr:`free` counts these threads too: an attempt is claimed
            only when it can start at once, whatever its kind.
        lease: How long a claim lasts without renewal.
        notify: Called with the workers that an attempt gave work to
            (``"orchestrator"``, ``"timers"``), and with ``"room"`` when an
            attempt ends leaving room free; the default does nothing.
        on_batch: Runs the workflow's next step at once, when given: an
            outcome is then queued with the execution claimed and handed to it.
        on_outcome: Tries to commit an outcome in place first (returns whether
            it did), when given.
    """

    def __init__(
        self,
        service: Service,
        backend: Backend,
        clock: Clock,
        client: Client,
        *,
        owner: str,
        concurrency: int = 1,
        threads: int | None = None,
        lease: timedelta,
        notify: Callable[..., None] = _ignore,
        on_batch: Callable[[InboundBatch], Awaitable[None]] | None = None,
        on_outcome: Callable[[TaskRequest, HistoryEvent, list[str]], Awaitable[bool]] | None = None,
    ) -> None:
        self._on_outcome = on_outcome
        self.service = service
        self.backend = backend
        self._logs = log_store(backend)
        self._on_batch = on_batch
        self._reserved = 0
        self._settling: set[str] = set()  # attempts whose body returned
        self.clock = clock
        self.client = client
        """The ambient client while task bodies run."""
        self._owner = owner
        self._concurrency = concurrency
        self._threads = threads
        self._pool = (
            ThreadPoolExecutor(threads, thread_name_prefix="eventual-task") if threads else None
        )
        self._threaded: set[str] = set()  # attempts of plain def bodies not yet returned
        self._lease = lease
        self._notify = notify
        self.running: dict[str, asyncio.Task[None]] = {}
        self.attempts = 0  # task attempts started, for tests and benchmarks

    @property
    def free(self) -> int:
        """How many more attempts this worker may run at once.

        An attempt whose body returned counts as ended: the step its outcome
        commits may reserve its room for the workflow's next task, which then
        starts here instead of waiting for any process to claim it.
        """
        busy = len(self.running) - len(self._settling.intersection(self.running))
        free = self._concurrency - busy - self._reserved
        if self._threads is not None and self._has_def_tasks():
            # A claimed attempt may be of any task, so each must find a thread.
            free = min(free, self._threads - len(self._threaded) - self._reserved)
        return max(free, 0)

    def _has_def_tasks(self) -> bool:
        return any(not t.is_async for t in self.service.tasks.values())

    def _is_threaded(self, task: str) -> bool:
        try:
            return not task_of(self.service, task).is_async
        except DefinitionNotFound:
            return False

    def cancel(self, token: str) -> None:
        """Stop a running attempt (its deadline passed), unless its body has returned.

        Once the body has returned, the coroutine is committing the outcome and
        the workflow's next step; cancelling that would only throw the work away.
        """
        running = self.running.get(token)
        if running is not None and token not in self._settling:
            running.cancel()

    def cancel_execution(self, execution_id: str) -> None:
        """Stop the running attempts of an execution that has ended."""
        for token in [
            t for t in self.running if _ids.parse_task_token(t).execution_id == execution_id
        ]:
            self.cancel(token)

    def reserve(self, count: int) -> Lease | None:
        """Reserve room for ``count`` attempts committed already claimed by this worker."""
        if count > self.free:
            return None
        self._reserved += count
        return Lease(owner=self._owner, duration=self._lease)

    def release(self, count: int) -> None:
        """Give back a reservation whose commit failed."""
        self._reserved = max(self._reserved - count, 0)

    def start(self, requests: Sequence[TaskRequest]) -> None:
        """Run attempts committed already claimed by this worker (uses their reservation)."""
        self.release(len(requests))
        for request in requests:
            self._start(request)

    def _start(self, request: TaskRequest) -> None:
        if request.token in self.running:
            return
        self.attempts += 1
        if self._is_threaded(request.task):
            self._threaded.add(request.token)
        task = asyncio.create_task(self.run(request), name=f"eventual task {request.token}")
        self.running[request.token] = task
        task.add_done_callback(self._forget(request.token))

    async def claim_and_start(self) -> int:
        """Claim ready attempts up to the free concurrency and start them; return how many."""
        free = self.free
        if free <= 0:
            return 0
        requests = await self.backend.tasks.claim(self._owner, self.clock.now(), free, self._lease)
        for request in requests:
            self._start(request)
        return len(requests)

    def _forget(self, token: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(task: asyncio.Task[None]) -> None:
            self.running.pop(token, None)
            self._threaded.discard(token)
            if not task.cancelled() and task.exception() is not None:
                log.error("task worker failed on %s", token, exc_info=task.exception())

        return forget

    async def renew(self) -> None:
        """Extend the claims of running attempts so no other worker takes them."""
        if self.running:
            await self.backend.tasks.renew(self._owner, list(self.running), self._lease)

    async def _deadlines(self, request: TaskRequest) -> list[TimerRequest]:
        now = self.clock.now()
        timers: list[TimerRequest] = []
        if request.timeout is not None:
            timers.append(
                TimerRequest(
                    id=_ids.timer_id(
                        request.execution_id, "task_timeout", request.seq, request.attempt
                    ),
                    execution_id=request.execution_id,
                    due=now + request.timeout,
                    kind="task_timeout",
                    seq=request.seq,
                    attempt=request.attempt,
                )
            )
        if request.heartbeat_timeout is not None:
            await self.backend.tasks.heartbeat(request.token, now, None)
            timers.append(
                TimerRequest(
                    id=_ids.timer_id(
                        request.execution_id, "heartbeat", request.seq, request.attempt
                    ),
                    execution_id=request.execution_id,
                    due=now + request.heartbeat_timeout,
                    kind="heartbeat",
                    seq=request.seq,
                    attempt=request.attempt,
                    task=request.task,
                )
            )
        if timers:
            await self.backend.timers.schedule(timers)
            self._notify("timers")
        return timers

    async def run(self, request: TaskRequest) -> None:
        """Run one attempt this worker holds the claim of, and record its outcome.

        Sets its deadline timers, runs its body with the task context and the
        client bound, then finishes the attempt with its outcome queued as an
        inbound message (or committed in place through ``on_outcome``). A body
        that calls ``complete_async()`` leaves the attempt held for
        ``complete_task``/``fail_task``. Exceptions of the body are its outcome;
        only backend errors propagate.
        """
        started_at = self.clock.now()
        deadlines = await self._deadlines(request)
        event: HistoryEvent
        context = _TaskContext(self, request, LiveLogs(self._logs, asyncio.get_running_loop()))
        try:
            definition = task_of(self.service, request.task)
            args, kwargs = definition.decode_args(request.args)
            try:
                with use_client(self.client), use_task_context(context):
                    if definition.is_async or self._pool is None:
                        result = await definition.run(*args, **kwargs)
                    else:
                        # The copied context carries heartbeat() and task_info() over.
                        body = cast(Callable[..., Any], definition.fn)
                        call = functools.partial(body, *args, **kwargs)
                        result = await asyncio.get_running_loop().run_in_executor(
                            self._pool, contextvars.copy_context().run, call
                        )
            finally:
                self._threaded.discard(request.token)
                await context.logs.close()
            event = TaskSucceeded(
                timestamp=self.clock.now(),
                seq=request.seq,
                attempt=request.attempt,
                result=encode(result, definition.return_type),
                started_at=started_at,
            )
        except CompleteAsync:
            # Finished later through complete_task/fail_task. The claim is held for
            # the outside world (no worker runs it again), while its timeout and
            # heartbeat deadlines keep applying.
            await self.backend.tasks.renew(self._owner, [request.token], _EXTERNAL_HOLD)
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # With the traceback: the workflow sees only the type and message.
            log.warning(
                "task %s attempt %d failed: %s: %s",
                request.task,
                request.attempt,
                type(error).__name__,
                error,
                exc_info=error,
            )
            event = TaskFailed(
                timestamp=self.clock.now(),
                seq=request.seq,
                attempt=request.attempt,
                error_type=type(error).__name__,
                message=str(error),
                error_bases=error_bases(type(error)),
                started_at=started_at,
            )
        self._settling.add(request.token)
        try:
            await self._settle(request, event, deadlines)
        finally:
            self._settling.discard(request.token)
            # Ended: its room is free now, not once the event loop runs the done callback.
            self.running.pop(request.token, None)
            if self.free:
                # Not taken by the workflow's next task: new executions may use it.
                self._notify("room")

    async def _settle(
        self, request: TaskRequest, event: HistoryEvent, deadlines: list[TimerRequest]
    ) -> None:
        if self._on_outcome is not None:
            # Fast path: the workflow's next step is committed together with the
            # end of this attempt, in one write.
            try:
                if await self._on_outcome(request, event, [t.id for t in deadlines]):
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("eventual could not apply the outcome of %s", request.token)
        # Claiming the execution in the same write lets this coroutine run the
        # workflow's next step at once, instead of waking the orchestrator loop.
        message = InboundMessage(
            id=_ids.outcome_message_id(request.token),
            execution_id=request.execution_id,
            event=event,
        )
        claim = Lease(owner=self._owner, duration=self._lease) if self._on_batch else None
        batch = await self.backend.tasks.finish(request.token, message, claim=claim)
        if deadlines:
            await self.backend.timers.complete([t.id for t in deadlines])
        if batch is None or self._on_batch is None:
            self._notify("orchestrator")
            return
        try:
            await self._on_batch(batch)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("eventual could not process %s after its task", batch.execution_id)
            with contextlib.suppress(Exception):
                await self.backend.queue.release(batch)
            self._notify("orchestrator")


class TimerWorker:
    """Turns due timers into inbound messages (at least once; ids make it harmless).

    Args:
        service: Where task definitions (heartbeat timeouts) are found.
        backend: Where timers are claimed and messages queued.
        clock: What "due" means.
        owner: This worker's name in claims.
        lease: How long a claim lasts.
        notify: Called with the workers that fired timers gave work to; the
            default does nothing.
        on_task_deadline: Called with the token of an attempt whose deadline
            passed (to stop it, when it runs in this process).
    """

    def __init__(
        self,
        service: Service,
        backend: Backend,
        clock: Clock,
        *,
        owner: str,
        lease: timedelta,
        notify: Callable[..., None] = _ignore,
        on_task_deadline: Callable[[str], None] = _ignore,
    ) -> None:
        self._backend = backend
        self._clock = clock
        self._owner = owner
        self._lease = lease
        self._notify = notify
        self._on_task_deadline = on_task_deadline
        self._service = service
        self.fired = 0

    def _heartbeat_timeout(self, task: str) -> timedelta | None:
        try:
            definition = task_of(self._service, task)
        except DefinitionNotFound:
            return None
        return definition.heartbeat_timeout

    batch = 256
    """Most timers fired by one :meth:`fire_due`."""

    async def fire_due(self) -> int:
        """Claim timers due now, up to :attr:`batch`, and fire them; return how many."""
        now = self._clock.now()
        due = await self._backend.timers.claim_due(self._owner, now, self.batch, self._lease)
        return await self.fire(due)

    async def fire(self, due: Sequence[TimerRequest]) -> int:
        """Fire timers this worker holds the claims of; return how many it handled.

        Each becomes the inbound message its kind means (id = the timer's id, so
        a timer fired twice is one message), or moves (a heartbeat check that saw
        a beat), or is dropped (its attempt finished); then it is completed.
        """
        if not due:
            return 0
        messages: list[InboundMessage] = []
        rescheduled: list[TimerRequest] = []
        for timer in due:
            event = await self._event_for(timer, rescheduled)
            if event is not None:
                messages.append(
                    InboundMessage(id=timer.id, execution_id=timer.execution_id, event=event)
                )
        if messages:
            await self._backend.queue.enqueue(messages)
        await self._backend.timers.complete(
            [t.id for t in due if t.id not in {r.id for r in rescheduled}]
        )
        if rescheduled:
            await self._backend.timers.schedule(rescheduled)
        self.fired += len(messages)
        self._notify("orchestrator", *(["timers"] if rescheduled else []))
        return len(due)

    async def _event_for(
        self, timer: TimerRequest, rescheduled: list[TimerRequest]
    ) -> HistoryEvent | None:
        now = self._clock.now()
        match timer.kind:
            case "timer":
                return TimerFired(timestamp=now, seq=timer.seq)
            case "workflow_timeout":
                return WorkflowTimedOut(timestamp=now)
            case "task_timeout":
                self._on_task_deadline(_token(timer))
                return TaskTimedOut(timestamp=now, seq=timer.seq, attempt=timer.attempt)
            case "heartbeat":
                token = _token(timer)
                last = await self._backend.tasks.last_heartbeat(token)
                window = self._heartbeat_timeout(timer.task or "")
                if last is None or window is None:
                    return None  # the attempt finished (or its task is gone)
                if last + window > now:
                    # A beat arrived since the timer was set: move the deadline.
                    rescheduled.append(attrs.evolve(timer, due=last + window))
                    return None
                self._on_task_deadline(token)
                return TaskHeartbeatTimedOut(timestamp=now, seq=timer.seq, attempt=timer.attempt)
        return None


def _token(timer: TimerRequest) -> str:
    return _ids.task_token(timer.execution_id, timer.seq, timer.attempt)
