"""The engine: one service on one backend, as a client and as a set of workers.

:class:`Engine` implements the ``Client`` protocol (start executions, signal,
cancel, read results) and runs the three kinds of work: orchestration of
inbound events, task attempts and timers. It can run them in the background
(:meth:`Engine.serve`, used by ``LocalRuntime`` and ``eventual local``) or step
by step until nothing is left (:meth:`Engine.run_until_idle`, used by the test
environment on a virtual clock). Both paths run the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta

import attrs
from ulid import ULID

from eventual import (
    EventualError,
    ExecutionAlreadyExists,
    ExecutionNotFound,
    ExecutionStatus,
    RuntimeNotAvailable,
    Service,
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
    input_digest,
)
from eventual.spi import (
    Backend,
    Client,
    EventBus,
    EventEnvelope,
    ExecutionFilter,
    ExecutionPage,
    InboundBatch,
    InboundMessage,
    SubscriptionDelivery,
    TaskRequest,
    TimerRequest,
    execution_id,
    new_execution_name,
)

from ._clock import Clock, ManualClock, SystemClock
from ._executor import seed_for, timer_id
from ._orchestrator import Orchestrator
from ._workers import TaskWorker, TimerWorker

__all__ = ["Engine", "EngineOptions"]

log = logging.getLogger("eventual.engine")

_DELIVERY_ROUNDS = 16
"""Most subscription delivery rounds running at once in one engine."""


@attrs.frozen(kw_only=True)
class EngineOptions:
    """Tuning of an engine; the defaults suit a laptop and a small server.

    Attributes:
        owner: Identifies this process in leases; unique by default.
        cache_size: Live workflow instances kept in memory.
        batch_executions: Executions claimed per orchestration round.
        task_concurrency: Task attempts running at once in this process.
        lease: How long a claim (batch, task, timer) lasts without renewal;
            after a crash, work resumes elsewhere once it lapses.
        poll_interval: Longest sleep between looks at the backend for work that
            other processes added (in-process work wakes the loops at once).
    """

    owner: str = attrs.field(factory=lambda: f"engine-{ULID()}")
    cache_size: int = 10_000
    batch_executions: int = 64
    task_concurrency: int = 64
    lease: timedelta = timedelta(seconds=30)
    poll_interval: float = 0.05


class Engine:
    """Runs one service on one backend; also the ``Client`` code outside workflows uses."""

    def __init__(
        self,
        service: Service,
        backend: Backend,
        *,
        clock: Clock | None = None,
        options: EngineOptions | None = None,
    ) -> None:
        self.service = service
        self.backend = backend
        self.clock: Clock = clock or SystemClock()
        self.options = options or EngineOptions()
        # One event per loop: a loop clearing a shared event could swallow the
        # wake-up meant for another.
        self._wakes = {
            name: asyncio.Event() for name in ("orchestrator", "timers", "tasks", "events")
        }
        self.bus: EventBus | None = None
        self.subscriptions: SubscriptionDelivery | None = None
        self.tasks = TaskWorker(
            service,
            backend,
            self.clock,
            self,
            owner=self.options.owner,
            concurrency=self.options.task_concurrency,
            lease=self.options.lease,
            notify=self.notify,
            on_batch=self._process_one,
            on_outcome=self._apply_outcome,
        )
        self.orchestrator = Orchestrator(
            service, backend, self.clock, self.options.cache_size, eager=self.tasks
        )
        self.timers = TimerWorker(
            service,
            backend,
            self.clock,
            owner=self.options.owner,
            lease=self.options.lease,
            notify=self.notify,
            on_task_deadline=self._cancel_running,
        )
        self._ended: dict[str, list[asyncio.Future[ExecutionRecord]]] = {}
        self._progress: dict[str, list[asyncio.Future[None]]] = {}
        self._serving: list[asyncio.Task[None]] = []
        self._stopping = False

    def notify(self, *loops: str) -> None:
        """Wake background loops: work for them was added in this process.

        Args:
            loops: Which loops (``"orchestrator"``, ``"timers"``, ``"tasks"``,
                ``"events"``); all of them when none is named. Waking only the
                loop that has work spares the others a look at the backend.
        """
        for name in loops or self._wakes:
            self._wakes[name].set()

    async def attach_bus(self, bus: EventBus) -> None:
        """Publish through ``bus`` and deliver its events to this service's subscriptions.

        Without a bus, workflow publishes stay in the backend's outbox and
        :meth:`publish_events` raises ``RuntimeNotAvailable``.
        """
        self.subscriptions = await bus.attach(
            self.service, self.client, self.clock.now, owner=self.options.owner
        )
        self.bus = bus

    @property
    def client(self) -> Client:
        """The ambient client of code the engine runs: task bodies, subscriptions, commands.

        The engine itself unless replaced with :meth:`use_client` (a test
        environment passes a client whose waits first settle pending work).
        """
        return self.tasks.client

    def use_client(self, client: Client) -> None:
        """Make ``client`` the ambient client of code this engine runs.

        Call it before :meth:`attach_bus`, which hands the client to the bus.
        """
        self.tasks.client = client

    def _cancel_running(self, token: str) -> None:
        self.tasks.cancel(token)

    # --- work -----------------------------------------------------------------------

    async def orchestrate_once(self) -> int:
        """Claim and process one round of inbound batches; return how many."""
        batches = await self.backend.queue.claim(
            self.options.owner, self.options.batch_executions, self.options.lease
        )
        await self._process(batches)
        return len(batches)

    async def _process_one(self, batch: InboundBatch) -> None:
        await self._process([batch])

    async def _apply_outcome(
        self, request: TaskRequest, event: HistoryEvent, deadlines: list[str]
    ) -> bool:
        record = await self.orchestrator.apply_outcome(
            request.execution_id, request.token, event, deadlines
        )
        if record is None:
            return False
        self._settle([record])
        return True

    async def _process(self, batches: Sequence[InboundBatch]) -> None:
        # Batches are of different executions, so they run concurrently; a backend
        # that groups concurrent commits into one transaction (SQLite) gains from it.
        self._settle(await asyncio.gather(*(self.orchestrator.process(b) for b in batches)))

    def _settle(self, records: Sequence[ExecutionRecord | None]) -> None:
        """Wake the loops the committed steps gave work to, and the result waiters."""
        wakes = self.orchestrator.take_wakes()
        if wakes:
            self.notify(*wakes)
        for record in records:
            if record is None:
                continue
            for progress in self._progress.pop(record.id, []):
                if not progress.done():
                    progress.set_result(None)
            if record.status.done:
                # Its attempts still running here are no longer wanted.
                self.tasks.cancel_execution(record.id)
                for waiter in self._ended.pop(record.id, []):
                    if not waiter.done():
                        waiter.set_result(record)

    async def relay_published(self, limit: int = 100) -> int:
        """Hand events that workflows published (the outbox) to the bus; return how many.

        An event is removed from the outbox only after the bus accepted it, and it
        keeps the id it got when its step was committed, so a crash in between
        makes the bus see the same id again, which it ignores.
        """
        if self.bus is None:
            return 0
        items = await self.backend.published(limit)
        if not items:
            return 0
        now = self.clock.now()
        envelopes = [
            EventEnvelope(
                id=event.id or f"{self.service.name}|{outbox_id}",
                source=self.service.name,
                name=event.name,
                time=event.time or now,
                payload=event.payload,
            )
            for outbox_id, event in items
        ]
        await self.bus.publish(envelopes)
        await self.backend.ack_published([outbox_id for outbox_id, _ in items])
        self._wakes["events"].set()
        return len(items)

    async def deliver_events(self) -> int:
        """Relay the outbox and run due subscription deliveries once; return the progress."""
        progressed = await self.relay_published()
        if self.subscriptions is not None:
            progressed += await self.subscriptions.deliver_due()
        return progressed

    async def run_until_idle(self) -> None:
        """Do all work that needs no time to pass, then return.

        Runs orchestration, due timers and task attempts until the queue is
        empty, no timer is due and no task attempt is ready or running.
        """
        idle_checks = 0
        while True:
            progressed = await self.orchestrate_once()
            progressed += await self.timers.fire_due()
            progressed += await self.tasks.claim_and_start()
            progressed += await self.deliver_events()
            if progressed:
                idle_checks = 0
                continue
            # A task body may itself settle work (a test environment's client does,
            # when the body awaits a result): it must not wait for itself.
            others = [t for t in self.tasks.running.values() if t is not asyncio.current_task()]
            if others:
                await asyncio.wait(others, return_when=asyncio.FIRST_COMPLETED)
                continue
            # A finishing task may have queued its outcome after this round's claim
            # (backends that do I/O yield to the loop); look once more before
            # returning. Messages that stay queued are claimed by someone else.
            if idle_checks < 2 and await self.backend.queue.pending():
                idle_checks += 1
                continue
            return

    async def advance_to(self, when: datetime) -> None:
        """Move a manual clock to ``when``, firing due work in time order.

        Each timer (and each delayed task attempt) becomes due at its own instant
        and the work it causes is settled before the clock moves on, so a retry
        back-off or a heartbeat deadline happens at the right virtual time.

        Raises:
            TypeError: The engine's clock is not a ``ManualClock``.
        """
        clock = self.clock
        if not isinstance(clock, ManualClock):
            raise TypeError("advance_to needs an engine built with a ManualClock")
        await self.run_until_idle()
        while True:
            due = await self.backend.timers.next_due()
            ready = await self.backend.tasks.next_ready()
            delivery = (
                await self.subscriptions.next_due() if self.subscriptions is not None else None
            )
            candidates = [t for t in (due, ready, delivery) if t is not None and t <= when]
            if not candidates:
                break
            clock.set(max(min(candidates), clock.now()))
            await self.run_until_idle()
        clock.set(when)
        await self.run_until_idle()

    async def serve(self) -> None:
        """Run the workers in the background until :meth:`stop` (or cancellation)."""
        self._stopping = False
        self._serving = [
            asyncio.create_task(self._orchestrate_loop(), name="eventual orchestrator"),
            asyncio.create_task(self._timer_loop(), name="eventual timers"),
            asyncio.create_task(self._task_loop(), name="eventual tasks"),
            asyncio.create_task(self._event_loop(), name="eventual events"),
        ]
        try:
            await asyncio.gather(*self._serving)
        finally:
            for task in self._serving:
                task.cancel()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop the background loops; give running task attempts ``grace`` seconds.

        Attempts still running after that are abandoned; their claims lapse and
        another worker runs them again (tasks are at-least-once).
        """
        self._stopping = True
        self.notify()
        for task in self._serving:
            task.cancel()
        await asyncio.gather(*self._serving, return_exceptions=True)
        self._serving = []
        running = list(self.tasks.running.values())
        if running:
            _done, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _sleep(self, loop: str, seconds: float) -> None:
        wake = self._wakes[loop]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=max(seconds, 0.0))
        wake.clear()

    async def _guard(self, what: str, step: Awaitable[int | None]) -> int:
        try:
            return await step or 0
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("eventual %s loop failed; retrying", what)
            await asyncio.sleep(self.options.poll_interval * 10)
            return 0

    # Each loop clears its wake-up before looking at the backend, so work added
    # while it looks wakes it again at once. A look that took less than its limit
    # saw everything there was, so the loop sleeps until woken or the poll
    # interval passes (which is how work of other processes is found) instead of
    # looking again straight away.

    async def _orchestrate_loop(self) -> None:
        while not self._stopping:
            self._wakes["orchestrator"].clear()
            claimed = await self._guard("orchestrator", self.orchestrate_once())
            if claimed < self.options.batch_executions:
                await self._sleep("orchestrator", self.options.poll_interval)

    async def _timer_loop(self) -> None:
        while not self._stopping:
            self._wakes["timers"].clear()
            if await self._guard("timer", self.timers.fire_due()) >= self.timers.batch:
                continue
            next_due = await self.backend.timers.next_due()
            delay = self.options.poll_interval
            if next_due is not None:
                delay = min(delay, (next_due - self.clock.now()).total_seconds())
            await self._sleep("timers", delay)

    async def _task_loop(self) -> None:
        renew_every = self.options.lease.total_seconds() / 3
        loop = asyncio.get_running_loop()
        last_renewal = loop.time()
        while not self._stopping:
            self._wakes["tasks"].clear()
            free = self.tasks.free
            started = await self._guard("task", self.tasks.claim_and_start())
            if loop.time() - last_renewal > renew_every:
                await self._guard("task renewal", self.tasks.renew())
                last_renewal = loop.time()
            if started < free or not free:
                await self._sleep("tasks", self.options.poll_interval)

    async def _event_loop(self) -> None:
        # Each delivery round runs as its own task: a slow handler holds up its
        # round only, while later rounds claim (and deliver) newer events. Claims
        # are leased, so rounds never take the same delivery.
        rounds: set[asyncio.Task[int]] = set()
        try:
            while not self._stopping:
                self._wakes["events"].clear()
                relayed = await self._guard("event relay", self.relay_published())
                if self.subscriptions is not None and len(rounds) < _DELIVERY_ROUNDS:
                    delivery = asyncio.create_task(
                        self._delivery_round(self.subscriptions), name="eventual deliveries"
                    )
                    rounds.add(delivery)
                    delivery.add_done_callback(rounds.discard)
                if relayed:
                    continue
                delay = self.options.poll_interval
                next_due = await self._next_delivery()
                if next_due is not None:
                    delay = min(delay, (next_due - self.clock.now()).total_seconds())
                await self._sleep("events", delay)
        finally:
            for delivery in rounds:
                delivery.cancel()
            await asyncio.gather(*rounds, return_exceptions=True)

    async def _next_delivery(self) -> datetime | None:
        if self.subscriptions is None:
            return None
        try:
            return await self.subscriptions.next_due()
        except Exception:
            log.exception("eventual could not read when the next delivery is due")
            return None

    async def _delivery_round(self, subscriptions: SubscriptionDelivery) -> int:
        settled = await self._guard("event", subscriptions.deliver_due())
        if settled:
            self._wakes["events"].set()  # there may be more: look again
        return settled

    # --- Client -----------------------------------------------------------------------

    def now(self) -> datetime:
        """Return the engine clock's time."""
        return self.clock.now()

    async def start_execution(
        self, workflow: str, input: JsonValue, name: str | None, *, parent_id: str | None = None
    ) -> str:
        """Start an execution (see ``Client``)."""
        definition = self.service.workflow(workflow)
        definition.decode_input(input)  # fails at start, naming the field
        name = name if name is not None else new_execution_name()
        id_ = execution_id(definition.name, name)
        now = self.clock.now()
        timeout_at = now + definition.timeout if definition.timeout else None
        started = WorkflowStarted(
            timestamp=now,
            execution_id=id_,
            workflow=definition.name,
            name=name,
            input=input,
            parent_id=parent_id,
            seed=seed_for(id_),
            timeout_at=timeout_at,
        )
        record = ExecutionRecord(
            id=id_,
            workflow=definition.name,
            name=name,
            status=ExecutionStatus.RUNNING,
            input=input,
            input_digest=input_digest(input),
            parent_id=parent_id,
            started_at=now,
        )
        timers = []
        if timeout_at is not None:
            timers.append(
                TimerRequest(
                    id=timer_id(id_, "workflow_timeout"),
                    execution_id=id_,
                    due=timeout_at,
                    kind="workflow_timeout",
                )
            )
        stored = await self.backend.executions.create(record, started, timers)
        if stored.input_digest != record.input_digest:
            raise ExecutionAlreadyExists(
                f"execution {id_!r} already exists with another input; start it with another "
                "name, or with the same input to get the existing execution"
            )
        if timers:
            self.notify("timers")
        if stored == record:
            # Created here: run its first step now, rather than through the queue.
            self.orchestrator.created(record, started)
            await self._first_step(id_)
        else:
            self.notify("orchestrator")
        return id_

    async def _first_step(self, execution_id: str) -> None:
        try:
            first = await self.orchestrator.apply_start(execution_id)
        except Exception:
            # The start message stays queued; the orchestrator loop takes it.
            log.exception("eventual could not run the first step of %s", execution_id)
            first = None
        if first is None:
            self.notify("orchestrator")
        else:
            self._settle([first])

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
        """Wait until the execution ends and return its record."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        # An end in this process resolves the waiter at once; the polling is for
        # executions that another process runs.
        delay = self.options.poll_interval
        while True:
            # Registered before the read, so an end while reading is not missed.
            waiter: asyncio.Future[ExecutionRecord] = loop.create_future()
            waiters = self._ended.setdefault(execution_id, [])
            waiters.append(waiter)
            try:
                record = await self._record(execution_id)
                if record.status.done:
                    return record
                wait_for = delay if deadline is None else min(delay, deadline - loop.time())
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
            return record.result  # type: ignore[no-any-return]
        raise WorkflowFailed(
            record.error_type or record.status.value, record.message or record.status.value
        )

    async def execution_history(self, execution_id: str) -> list[HistoryEvent]:
        """Return the execution's history (see ``Client``)."""
        await self._record(execution_id)
        return await self.backend.executions.history(execution_id)

    async def executions(self, query: ExecutionFilter) -> ExecutionPage:
        """List executions, newest first."""
        return await self.backend.executions.list(query)

    async def cancel_execution(self, execution_id: str) -> None:
        """Ask an execution to cancel (see ``Client``)."""
        record = await self._record(execution_id)
        if record.status.done:
            return
        message = InboundMessage(
            id=f"{execution_id}|cancel",
            execution_id=execution_id,
            event=WorkflowCancelRequested(timestamp=self.clock.now(), reason="requested"),
        )
        await self.backend.queue.enqueue([message])
        self.notify("orchestrator")

    async def send_signal(self, execution_id: str, signal: str, payload: JsonValue) -> None:
        """Deliver a signal; discarded if the execution has ended (see ``Client``)."""
        record = await self._record(execution_id)
        if record.status.done:
            return
        message_id = f"signal|{ULID()}"
        message = InboundMessage(
            id=message_id,
            execution_id=execution_id,
            event=SignalReceived(
                timestamp=self.clock.now(), signal=signal, payload=payload, id=message_id
            ),
        )
        await self.backend.queue.enqueue([message])
        self.notify("orchestrator")

    async def publish_events(self, events: Sequence[tuple[str, JsonValue]]) -> None:
        """Publish events to the attached bus (see ``Client``).

        Raises:
            RuntimeNotAvailable: No event bus is attached (eventual-messaging is
                not installed, or the engine was built without one).
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
                    id=str(ULID()), source=self.service.name, name=name, time=now, payload=payload
                )
                for name, payload in events
            ]
        )
        self._wakes["events"].set()

    @staticmethod
    def _parse_token(token: str) -> tuple[str, int, int]:
        try:
            execution, seq, attempt = token.rsplit("|", 2)
            return execution, int(seq), int(attempt)
        except ValueError:
            raise EventualError(f"invalid task token {token!r}") from None

    async def complete_task(self, token: str, result: JsonValue) -> None:
        """Finish an asynchronously completed task (see ``Client``)."""
        execution, seq, attempt = self._parse_token(token)
        await self._record(execution)
        event = TaskSucceeded(timestamp=self.clock.now(), seq=seq, attempt=attempt, result=result)
        await self._finish_task(token, execution, event)

    async def fail_task(self, token: str, error_type: str, message: str) -> None:
        """Fail an asynchronously completed task (see ``Client``)."""
        execution, seq, attempt = self._parse_token(token)
        await self._record(execution)
        event = TaskFailed(
            timestamp=self.clock.now(),
            seq=seq,
            attempt=attempt,
            error_type=error_type,
            message=message,
        )
        await self._finish_task(token, execution, event)

    async def _finish_task(self, token: str, execution: str, event: HistoryEvent) -> None:
        seq, attempt = getattr(event, "seq", 0), getattr(event, "attempt", 0)
        kinds = ("task_timeout", "heartbeat")
        deadlines = [timer_id(execution, kind, seq, attempt) for kind in kinds]
        record = await self.orchestrator.apply_outcome(execution, token, event, deadlines)
        if record is not None:
            self._settle([record])
            return
        message = InboundMessage(id=f"{token}|done", execution_id=execution, event=event)
        await self.backend.tasks.finish(token, message)
        await self.backend.timers.complete(deadlines)
        self.notify("orchestrator")
