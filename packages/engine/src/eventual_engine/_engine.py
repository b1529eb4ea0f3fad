"""The engine: one service on one backend, as a client and as a set of workers.

:class:`Engine` is the service's :class:`~eventual_engine.BackendClient` (start
executions, signal, cancel, read results) that also runs the three kinds of
work in this process: orchestration of inbound events, task attempts and
timers. It runs them in background loops (:meth:`Engine.serve`, used by
``LocalRuntime`` and ``eventual local``) or step by step until nothing is left
(:meth:`Engine.run_until_idle`, used by the test environment on a virtual
clock). Both paths run the same code; a runtime without background loops (one
function invocation per unit of work) drives the same workers itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta

import attrs

from eventual import Service
from eventual.history import ExecutionRecord, HistoryEvent, WorkflowStarted
from eventual.spi import (
    Backend,
    Client,
    EventBus,
    InboundBatch,
    SubscriptionDelivery,
    TaskRequest,
    WorkWatcher,
)

from . import _ids
from ._client import BackendClient, ClientHooks
from ._clock import Clock, ManualClock
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
        batch_executions: Most executions claimed per orchestration round
            (fewer while the task worker has less room than that).
        task_concurrency: Task attempts running at once in this process.
        task_threads: Plain ``def`` task bodies running at once in this
            process, each on a thread of the engine's own pool; by default as
            many as Python's default thread pool has (CPUs + 4, at most 32).
            While the service has ``def`` tasks, an attempt is claimed only
            when a thread is free for it, so the rest stay for other processes.
        lease: How long a claim (batch, task, timer) lasts without renewal;
            after a crash, work resumes elsewhere once it lapses.
        poll_interval: Longest sleep between looks at the backend for work that
            other processes added (in-process work wakes the loops at once).
    """

    owner: str = attrs.field(factory=_ids.new_owner)
    cache_size: int = 10_000
    batch_executions: int = 64
    task_concurrency: int = 64
    task_threads: int = attrs.field(factory=lambda: min(32, (os.cpu_count() or 1) + 4))
    lease: timedelta = timedelta(seconds=30)
    poll_interval: float = 0.05


class _InProcess(ClientHooks):
    """The engine's answer to its client calls: wake a loop, or do the work at once."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def work_added(self, *workers: str) -> None:
        self._engine.notify(*workers)

    async def execution_created(self, record: ExecutionRecord, started: WorkflowStarted) -> None:
        # Created here: run its first step now, rather than through the queue.
        engine = self._engine
        engine.orchestrator.created(record, started)
        try:
            first = await engine.orchestrator.apply_start(record.id)
        except Exception:
            # The start message stays queued; the orchestrator loop takes it.
            log.exception("eventual could not run the first step of %s", record.id)
            first = None
        if first is None:
            engine.notify("orchestrator")
        else:
            engine.settle([first])

    async def task_outcome(
        self, execution_id: str, token: str, event: HistoryEvent, deadlines: Sequence[str]
    ) -> bool:
        record = await self._engine.orchestrator.apply_outcome(
            execution_id, token, event, deadlines
        )
        if record is None:
            return False
        self._engine.settle([record])
        return True


class Engine(BackendClient):
    """Runs one service on one backend; also the ``Client`` code outside workflows uses.

    Args:
        service: The service to run.
        backend: Where its executions, messages, tasks and timers are stored.
        clock: The engine's time (a ``ManualClock`` lets :meth:`advance_to` move it).
        options: Tuning (see :class:`EngineOptions`).
    """

    def __init__(
        self,
        service: Service,
        backend: Backend,
        *,
        clock: Clock | None = None,
        options: EngineOptions | None = None,
    ) -> None:
        self.options = options or EngineOptions()
        super().__init__(
            service,
            backend,
            clock=clock,
            hooks=_InProcess(self),
            poll_interval=self.options.poll_interval,
        )
        # One event per loop: a loop clearing a shared event could swallow the
        # wake-up meant for another.
        self._wakes = {
            name: asyncio.Event() for name in ("orchestrator", "timers", "tasks", "events", "room")
        }
        self.subscriptions: SubscriptionDelivery | None = None
        self.tasks = TaskWorker(
            service,
            backend,
            self.clock,
            self,
            owner=self.options.owner,
            concurrency=self.options.task_concurrency,
            threads=self.options.task_threads,
            lease=self.options.lease,
            notify=self.notify,
            on_batch=self._process_one,
            on_outcome=self._apply_outcome,
        )
        self.orchestrator = Orchestrator(
            service,
            backend,
            self.clock,
            self.options.cache_size,
            eager=self.tasks,
            owner=self.options.owner,
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
        self._serving: list[asyncio.Task[None]] = []
        self._left = 0  # new executions the last orchestration round left for others
        self._stopping = False

    def notify(self, *loops: str) -> None:
        """Wake background loops: work for them was added in this process.

        Args:
            loops: Which loops (``"orchestrator"``, ``"timers"``, ``"tasks"``,
                ``"events"``, or ``"room"``: task room freed, for an
                orchestrator that left new executions for lack of it); all of
                them when none is named. Waking only the
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
        """Claim and process one round of inbound batches; return how many it processed."""
        full = self.tasks.free == 0
        batches = await self.backend.queue.claim(
            self.options.owner, self._claim_limit(), self.options.lease
        )
        self._left = 0
        if full:
            kept: list[InboundBatch] = []
            for index, batch in enumerate(batches):
                if not self._waits_for_room(batch):
                    kept.append(batch)
                    continue
                try:
                    await self.backend.queue.release(batch)
                except Exception:
                    # The claims not yet left or kept would wait out their lease.
                    await self._give_back([*kept, *batches[index:]])
                    raise
                self._left += 1
            batches = kept
        await self._process(batches)
        return len(batches)

    def _waits_for_room(self, batch: InboundBatch) -> bool:
        """Whether a process without task room leaves ``batch`` for one with room.

        Only a new execution held nowhere yet waits: its first step almost
        always dispatches a task, which this process could not start; the
        process that ran it would read and replay the history a second time to
        apply its outcome. Signals, fired timers, outcomes and cancellations
        are stepped at once (they may need no task, and the execution may live
        here), and so is a new execution that has waited a lease already, so
        that it does not wait on processes that stay full.
        """
        id_ = batch.execution_id
        if self.orchestrator.holds(id_):
            return False
        if not all(isinstance(m.event, WorkflowStarted) for m in batch.messages):
            return False
        oldest = min(m.event.timestamp for m in batch.messages)
        return self.clock.now() - oldest < self.options.lease

    def _claim_limit(self) -> int:
        """How many executions the next orchestration round claims.

        No more than this process's task worker has room for: a step's tasks
        then start here, already claimed in its commit, and their outcomes apply
        to the live instance held here. Executions claimed beyond that room
        would hand their tasks to whichever process claims them next, which
        replays the history to apply the outcome (and leaves this process's copy
        stale). A full process still claims one, so that a signal or a timer
        needing no task is not held up; a new execution it then leaves in the
        queue (see ``_waits_for_room``).
        """
        return max(min(self.options.batch_executions, self.tasks.free), 1)

    async def _process_one(self, batch: InboundBatch) -> None:
        await self._process([batch])

    async def _apply_outcome(
        self, request: TaskRequest, event: HistoryEvent, deadlines: list[str]
    ) -> bool:
        return await self.hooks.task_outcome(request.execution_id, request.token, event, deadlines)

    async def _process(self, batches: Sequence[InboundBatch]) -> None:
        """Step claimed batches; if any step fails, give its claim back and raise its error.

        Every step runs to its end before a failure is raised: the others still
        commit and settle, and no claim is given back while its step may commit.
        """
        # Batches are of different executions, so they run concurrently; a backend
        # that groups concurrent commits into one transaction (SQLite) gains from it.
        outcomes = await asyncio.gather(
            *(self.orchestrator.process(b) for b in batches), return_exceptions=True
        )
        records: list[ExecutionRecord | None] = []
        failed: list[tuple[InboundBatch, BaseException]] = []
        for batch, outcome in zip(batches, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                failed.append((batch, outcome))
            else:
                records.append(outcome)
        if failed:
            # A step that lost its commit returned None, its claim given back
            # already. These raised something else: another process (or this
            # one's next look) may take them at once rather than after their
            # lease. A commit that raised yet was written took the claim with it,
            # and a release of a claim no longer held is ignored.
            await self._give_back([b for b, e in failed if isinstance(e, Exception)])
        self.settle(records)
        if not failed:
            return
        for batch, error in failed[1:]:
            log.error("eventual could not step %s", batch.execution_id, exc_info=error)
        raise failed[0][1]

    async def _give_back(self, batches: Sequence[InboundBatch]) -> None:
        """Release claims a failed round did not consume; a release that fails is only logged.

        Such a claim then lasts until its lease lapses (``EngineOptions.lease``).
        """
        outcomes = await asyncio.gather(
            *(self.backend.queue.release(b) for b in batches), return_exceptions=True
        )
        held = [b.execution_id for b, e in zip(batches, outcomes, strict=True) if e is not None]
        errors = [e for e in outcomes if e is not None]
        for error in errors:
            if not isinstance(error, Exception):
                raise error  # cancelled while giving back: the leases cover the rest
        if errors:
            log.error(
                "eventual could not give back its claim on %s; another process takes %s"
                " once the lease lapses",
                ", ".join(held),
                "it" if len(held) == 1 else "them",
                exc_info=errors[0],
            )

    def settle(self, records: Sequence[ExecutionRecord | None]) -> None:
        """Wake the loops that steps just committed here gave work to, and the result waiters.

        Args:
            records: The records those steps returned (None for a step that lost).
        """
        wakes = self.orchestrator.take_wakes()
        if wakes:
            self.notify(*wakes)
        for record in records:
            if record is not None and record.status.done:
                # Its attempts still running here are no longer wanted.
                self.tasks.cancel_execution(record.id)
        self.observe(records)

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
        if isinstance(self.backend, WorkWatcher):
            # Work other processes add wakes the loops at once; polling stays as
            # the safety net for a lost notification.
            self._serving.append(
                asyncio.create_task(self._watch(self.backend), name="eventual watch")
            )
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

    async def _watch(self, backend: WorkWatcher) -> None:
        while not self._stopping:
            try:
                await backend.watch(lambda loop: self.notify(loop) if loop in self._wakes else None)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("eventual stopped watching the backend for work; restarting")
            await asyncio.sleep(self.options.poll_interval * 10)

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
            self._wakes["room"].clear()
            limit = self._claim_limit()
            claimed = await self._guard("orchestrator", self.orchestrate_once())
            if self._left:
                # Left for a process with room. A release wakes every orchestrator,
                # this one included, so only room freed here (or the poll
                # interval) brings it back.
                await self._sleep("room", self.options.poll_interval)
            elif claimed < limit:
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
