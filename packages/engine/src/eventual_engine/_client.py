"""The ``Client`` of a service over any backend, without workers of its own.

:class:`BackendClient` starts, signals and cancels executions, finishes tasks
completed from outside, reads records and histories and publishes events, by
writing to a :class:`~eventual.spi.Backend` and an event bus. It runs no work:
whatever runs the workers learns of the work it added through
:class:`ClientHooks`. The in-process :class:`~eventual_engine.Engine` is a
``BackendClient`` whose hooks wake its loops and take a new execution's first
step at once; a serverless runtime, whose backend wakes its own workers, keeps
the default hooks (which do nothing) or rings a doorbell from them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime

from eventual import (
    EventualError,
    ExecutionAlreadyExists,
    ExecutionNotFound,
    ExecutionStatus,
    RuntimeNotAvailable,
    Service,
    ValidationError,
    WorkflowFailed,
)
from eventual.codec import JsonValue
from eventual.history import (
    ExecutionRecord,
    HistoryEvent,
    SignalReceived,
    TaskFailed,
    TaskSucceeded,
    WorkflowCancelRequested,
    WorkflowStarted,
)
from eventual.spi import (
    Backend,
    EventBus,
    EventEnvelope,
    ExecutionFilter,
    ExecutionPage,
    InboundMessage,
    LogEntry,
    new_execution_name,
)

from . import _ids
from ._clock import Clock, SystemClock
from ._logs import log_store
from ._schedules._builtins import workflow_of
from ._start import new_execution

__all__ = ["BackendClient", "ClientHooks"]


REREADS_PER_SECOND = 100
"""How often, in all, waits for executions other processes run re-read the store."""


class ClientHooks:
    """What a :class:`BackendClient` tells whoever runs the workers.

    Every method has a default that does nothing, which is right when the
    backend itself wakes the workers (a queue triggering a function). Subclass
    it to wake workers of this process or to ring a doorbell.
    """

    async def work_added(self, *workers: str) -> None:
        """Work was written to the backend for these workers.

        Args:
            workers: ``"orchestrator"`` (inbound messages queued), ``"timers"``
                (timers scheduled) or ``"events"`` (events on the bus).
        """

    async def execution_created(self, record: ExecutionRecord, started: WorkflowStarted) -> None:
        """This client created an execution; its start message is queued.

        The execution's history is exactly ``started`` until a first step
        commits, so a runner in this process may take that step at once
        (``Orchestrator.created`` then ``Orchestrator.apply_start``) instead of
        waiting for the message to be claimed.
        """

    async def task_outcome(
        self, execution_id: str, token: str, event: HistoryEvent, deadlines: Sequence[str]
    ) -> bool:
        """An attempt completed from outside (``complete_task``/``fail_task``) may be applied here.

        Args:
            execution_id: The attempt's execution.
            token: The attempt's task token.
            event: ``TaskSucceeded`` or ``TaskFailed``.
            deadlines: The ids of the attempt's deadline timers, to cancel with it.

        Returns:
            True when the outcome was committed here (a runner holding the
            execution applies it in place, ``Orchestrator.apply_outcome``);
            False to have the client queue it as an inbound message.
        """
        return False


class BackendClient:
    """A service's ``Client`` (``eventual.spi``) over a backend, an optional bus and a clock.

    Args:
        service: The service whose workflows and events it reaches.
        backend: Where executions, messages, tasks and timers are stored.
        clock: The time of new events (the system clock by default).
        bus: Where :meth:`publish_events` publishes; settable later as ``bus``.
        hooks: Told of the work each call adds (see :class:`ClientHooks`).
        poll_interval: The first pause, in seconds, between reads while
            :meth:`wait` waits for an execution that another process runs.
    """

    def __init__(
        self,
        service: Service,
        backend: Backend,
        *,
        clock: Clock | None = None,
        bus: EventBus | None = None,
        hooks: ClientHooks | None = None,
        poll_interval: float = 0.05,
    ) -> None:
        self.service = service
        self.backend = backend
        self.clock: Clock = clock or SystemClock()
        self.bus = bus
        self.hooks = hooks or ClientHooks()
        self._poll_interval = poll_interval
        self._waiting = 0  # wait() calls in progress, which share a budget of re-reads
        self._ended: dict[str, list[asyncio.Future[ExecutionRecord]]] = {}
        self._progress: dict[str, list[asyncio.Future[None]]] = {}

    def observe(self, records: Sequence[ExecutionRecord | None]) -> None:
        """Resolve the waiters of executions whose steps were just committed in this process.

        :meth:`wait` and :meth:`wait_for_progress` return at once for these
        instead of at their next read.
        """
        for record in records:
            if record is None:
                continue
            for progress in self._progress.pop(record.id, []):
                if not progress.done():
                    progress.set_result(None)
            if record.status.done:
                for waiter in self._ended.pop(record.id, []):
                    if not waiter.done():
                        waiter.set_result(record)

    def now(self) -> datetime:
        """Return the client clock's time."""
        return self.clock.now()

    async def start_execution(
        self, workflow: str, input: JsonValue, name: str | None, *, parent_id: str | None = None
    ) -> str:
        """Start an execution (see ``Client``)."""
        definition = workflow_of(self.service, workflow)
        definition.decode_input(input)  # fails at start, naming the field
        start = new_execution(
            definition,
            name if name is not None else new_execution_name(),
            input,
            now=self.clock.now(),
            parent_id=parent_id,
            task_key=_ids.new_task_key(),
        )
        record = start.record
        stored = await self.backend.executions.create(record, start.started, start.timers)
        if stored.input_digest != record.input_digest:
            raise ExecutionAlreadyExists(
                f"execution {record.id!r} already exists with another input; start it with "
                "another name, or with the same input to get the existing execution"
            )
        if start.timers:
            await self.hooks.work_added("timers")
        if stored == record:
            await self.hooks.execution_created(record, start.started)
        else:
            await self.hooks.work_added("orchestrator")
        return record.id

    async def _record(self, execution_id: str) -> ExecutionRecord:
        record = await self.backend.executions.get(execution_id)
        if record is None:
            raise ExecutionNotFound(f"no execution {execution_id!r}")
        return record

    async def execution_status(self, execution_id: str) -> ExecutionStatus:
        """Return the execution's status (see ``Client``)."""
        return (await self._record(execution_id)).status

    async def execution_record(self, execution_id: str) -> ExecutionRecord:
        """Return the execution's record (raises ``ExecutionNotFound``)."""
        return await self._record(execution_id)

    async def wait(self, execution_id: str, timeout: float | None = None) -> ExecutionRecord:
        """Wait until the execution ends and return its record.

        Raises:
            TimeoutError: ``timeout`` seconds passed first.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        # An end in this process resolves the waiter at once; the polling is for
        # executions that another process runs. Waits share REREADS_PER_SECOND
        # re-reads, so that hundreds of them held at once (long-polls) do not
        # crowd out other work on the store.
        delay = self._poll_interval
        self._waiting += 1
        try:
            return await self._wait(execution_id, loop, deadline, delay)
        finally:
            self._waiting -= 1

    async def _wait(
        self,
        execution_id: str,
        loop: asyncio.AbstractEventLoop,
        deadline: float | None,
        delay: float,
    ) -> ExecutionRecord:
        while True:
            # Registered before the read, so an end while reading is not missed.
            waiter: asyncio.Future[ExecutionRecord] = loop.create_future()
            waiters = self._ended.setdefault(execution_id, [])
            waiters.append(waiter)
            try:
                record = await self._record(execution_id)
                if record.status.done:
                    return record
                shared = max(delay, self._waiting / REREADS_PER_SECOND)
                wait_for = shared if deadline is None else min(shared, deadline - loop.time())
                if wait_for <= 0:
                    raise TimeoutError(f"execution {execution_id!r} is still running")
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(waiter, wait_for)
            finally:
                if waiter in waiters:
                    waiters.remove(waiter)
                if not waiters and self._ended.get(execution_id) is waiters:
                    del self._ended[execution_id]
            delay = min(delay * 2, 0.5)

    async def wait_for_progress(self, execution_id: str, timeout: float) -> None:
        """Wait until this process commits a step of the execution, or ``timeout`` passes.

        Steps other processes commit are not seen: callers re-read what they watch
        after each return (the system API's history long-poll does).
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        waiters = self._progress.setdefault(execution_id, [])
        waiters.append(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, max(timeout, 0.0))
        finally:
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters and self._progress.get(execution_id) is waiters:
                del self._progress[execution_id]

    async def execution_result(self, execution_id: str) -> JsonValue:
        """Wait for the end; return the JSON result or raise ``WorkflowFailed``."""
        record = await self.wait(execution_id)
        if record.status is ExecutionStatus.SUCCEEDED:
            return record.result
        raise WorkflowFailed(
            record.error_type or record.status.value, record.message or record.status.value
        )

    async def execution_history(self, execution_id: str, after: int = 0) -> list[HistoryEvent]:
        """Return the execution's history (see ``Client``), from position ``after`` on."""
        await self._record(execution_id)
        return await self.backend.executions.history(execution_id, after)

    async def execution_logs(self, execution_id: str, after: int = 0) -> list[LogEntry]:
        """Return the log entries kept of the execution, after position ``after``.

        Empty when the backend keeps no logs (it has no ``LogStore``).
        """
        await self._record(execution_id)
        store = log_store(self.backend)
        return [] if store is None else await store.read_logs(execution_id, after)

    async def executions(self, query: ExecutionFilter) -> ExecutionPage:
        """List executions, newest first."""
        return await self.backend.executions.list(query)

    async def cancel_execution(self, execution_id: str) -> None:
        """Ask an execution to cancel (see ``Client``)."""
        record = await self._record(execution_id)
        if record.status.done:
            return
        message_id = _ids.cancel_message_id(execution_id)
        message = InboundMessage(
            id=message_id,
            execution_id=execution_id,
            event=WorkflowCancelRequested(
                timestamp=self.clock.now(), reason="requested", id=message_id
            ),
        )
        await self.backend.queue.enqueue([message])
        await self.hooks.work_added("orchestrator")

    async def send_signal(self, execution_id: str, signal: str, payload: JsonValue) -> None:
        """Deliver a signal; discarded if the execution has ended (see ``Client``)."""
        await self.queue_signal(execution_id, signal, payload)

    async def queue_signal(self, execution_id: str, signal: str, payload: JsonValue) -> str | None:
        """Deliver a signal as :meth:`send_signal` does, and tell which message carries it.

        Returns:
            The id of the inbound message queued for the execution, which is also
            the ``id`` of the ``SignalReceived`` event its history records when
            the signal is applied; None when the execution had ended already, so
            nothing was queued. A message queued for an execution that ends
            before its next step applies it is discarded then: the execution's
            history, once it has ended, tells which happened.

        Raises:
            ExecutionNotFound: No execution has that id.
        """
        record = await self._record(execution_id)
        if record.status.done:
            return None
        message_id = _ids.signal_message_id()
        message = InboundMessage(
            id=message_id,
            execution_id=execution_id,
            event=SignalReceived(
                timestamp=self.clock.now(), signal=signal, payload=payload, id=message_id
            ),
        )
        await self.backend.queue.enqueue([message])
        await self.hooks.work_added("orchestrator")
        return message_id

    async def publish_events(self, events: Sequence[tuple[str, JsonValue]]) -> None:
        """Publish events to the bus (see ``Client``).

        Raises:
            RuntimeNotAvailable: No event bus is attached (eventual-messaging is
                not installed, or the client was built without one).
        """
        if self.bus is None:
            raise RuntimeNotAvailable(
                "publishing events needs an event bus; install eventual-messaging "
                "(events published by workflows wait in the outbox until a bus is attached)"
            )
        now = self.clock.now()
        await self.bus.publish(
            [
                EventEnvelope(
                    id=_ids.new_event_id(),
                    source=self.service.name,
                    name=name,
                    time=now,
                    payload=payload,
                )
                for name, payload in events
            ]
        )
        await self.hooks.work_added("events")

    async def relay_published(self, limit: int = 100) -> int:
        """Hand events that workflows published (the outbox) to the bus; return how many.

        Not part of ``Client``: whoever runs the workers calls it (the engine's
        event loop; a serverless runtime after a step that published, or on a
        schedule). An event is removed from the outbox only after the bus
        accepted it, and it keeps the id it got when its step was committed, so
        a crash in between makes the bus see the same id again, which it ignores.
        Without a bus it does nothing.
        """
        if self.bus is None:
            return 0
        items = await self.backend.published(limit)
        if not items:
            return 0
        now = self.clock.now()
        envelopes = [
            EventEnvelope(
                id=event.id or _ids.relayed_event_id(self.service.name, outbox_id),
                source=self.service.name,
                name=event.name,
                time=event.time or now,
                payload=event.payload,
            )
            for outbox_id, event in items
        ]
        await self.bus.publish(envelopes)
        await self.backend.ack_published([outbox_id for outbox_id, _ in items])
        await self.hooks.work_added("events")
        return len(items)

    async def complete_task(self, token: str, result: JsonValue) -> None:
        """Finish an asynchronously completed task (see ``Client``).

        Raises:
            ValidationError: ``token`` is not one ``task_info()`` gave (see
                :meth:`_attempt`).
        """
        parsed = await self._attempt(token)
        event = TaskSucceeded(
            timestamp=self.clock.now(), seq=parsed.seq, attempt=parsed.attempt, result=result
        )
        await self._finish_task(parsed, event)

    async def fail_task(self, token: str, error_type: str, message: str) -> None:
        """Fail an asynchronously completed task (see ``Client``).

        Raises:
            ValidationError: ``token`` is not one ``task_info()`` gave.
        """
        parsed = await self._attempt(token)
        event = TaskFailed(
            timestamp=self.clock.now(),
            seq=parsed.seq,
            attempt=parsed.attempt,
            error_type=error_type,
            message=message,
        )
        await self._finish_task(parsed, event)

    async def _attempt(self, token: str) -> _ids.TaskToken:
        """Return the attempt a completion token names, once its mac is checked.

        A malformed token, a wrong mac and an execution that does not exist get
        one answer, so a caller learns nothing about which executions exist.

        Raises:
            ValidationError: ``token`` is not a token ``task_info()`` gave.
        """
        refused = ValidationError(
            "token",
            f"{token[:120]!r} is not a valid task token; pass the token task_info().token "
            "gave the task attempt, unchanged",
        )
        try:
            parsed = _ids.parse_task_token(token)
        except EventualError:
            raise refused from None
        record = await self.backend.executions.get(parsed.execution_id)
        if record is None or not _ids.token_matches(parsed, record.task_key):
            raise refused
        return parsed

    async def _finish_task(self, token: _ids.TaskToken, event: HistoryEvent) -> None:
        deadlines = _ids.deadline_timer_ids(token)
        if await self.hooks.task_outcome(token.execution_id, str(token), event, deadlines):
            return
        message = InboundMessage(
            id=_ids.outcome_message_id(str(token)), execution_id=token.execution_id, event=event
        )
        await self.backend.tasks.finish(str(token), message)
        await self.backend.timers.complete(deadlines)
        await self.hooks.work_added("orchestrator")
