"""The orchestrator: applies inbound events to executions and commits the outcome.

One step takes a batch of inbound messages for one execution (claimed from the
queue, so no other orchestrator works on it meanwhile), feeds them to the
execution's live instance, and commits the new history together with every
command it implies (the outbox) in one conditional write. If the write loses
(another orchestrator got there first, or the lease lapsed) nothing was written;
the cached instance is dropped and the messages are processed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import attrs

from eventual import DeterminismError, ExecutionStatus, Service
from eventual.history import ExecutionRecord, HistoryEvent, TimerFired, WorkflowStarted
from eventual.history import WorkflowFailed as WorkflowFailedEvent
from eventual.spi import (
    Backend,
    Conflict,
    InboundBatch,
    Lease,
    StepCommit,
    TaskRequest,
)

from . import _ids
from ._clock import Clock
from ._executor import StepOutput, WorkflowInstance, ended_record
from ._logs import log_store, store_logs

__all__ = ["EagerTasks", "Orchestrator"]

_MAX_IMMEDIATE_TIMER_ROUNDS = 64

log = logging.getLogger("eventual.engine")


class _Live:
    __slots__ = ("committed", "instance", "record")

    def __init__(self, instance: WorkflowInstance, committed: int, record: ExecutionRecord) -> None:
        self.instance = instance
        self.committed = committed
        # Kept with the instance: while cached, this process made every change to it
        # (a lost lease or a foreign write shows up as a commit conflict, which evicts).
        self.record = record


class EagerTasks(Protocol):
    """A task worker in this process that takes a step's tasks straight from its commit."""

    def reserve(self, count: int) -> Lease | None:
        """Reserve room for ``count`` attempts; return the lease to claim them with, or None."""

    def release(self, count: int) -> None:
        """Give back a reservation whose commit failed."""

    def start(self, requests: Sequence[TaskRequest]) -> None:
        """Run attempts that were committed already claimed (uses up their reservation)."""


class Orchestrator:
    """Runs executor steps for claimed batches, with a bounded cache of live instances.

    One :meth:`process` call is one unit of work: a caller without background
    loops claims a batch (``WorkflowQueue.claim``) and hands it over. The cache
    only saves replays; an orchestrator living for one batch works the same.

    Args:
        service: Where the workflows' code is found.
        backend: Where histories are read and steps committed.
        clock: The time of the events a step records.
        cache_size: Live instances kept between steps.
        eager: A task worker of this process that runs a step's tasks straight
            from its commit; without one, tasks wait to be claimed.
        owner: This process's owner id, written with each step
            (``StepCommit.owner``) so that a shared backend can hand the
            execution's next messages to the process holding its live instance.
    """

    def __init__(
        self,
        service: Service,
        backend: Backend,
        clock: Clock,
        cache_size: int = 1_000,
        eager: EagerTasks | None = None,
        owner: str | None = None,
    ) -> None:
        self._service = service
        self._owner = owner
        self._eager = eager
        self._backend = backend
        self._logs = log_store(backend)
        self._clock = clock
        self._cache: OrderedDict[str, _Live] = OrderedDict()
        self._cache_size = cache_size
        self.replays = 0  # cache misses, for tests and benchmarks
        # Which worker loops the commits since the last ``take_wakes`` gave work to.
        self._wakes: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}
        # Executions created here whose first step has not run yet (see ``created``).
        self._created: OrderedDict[str, tuple[ExecutionRecord, WorkflowStarted]] = OrderedDict()

    def take_wakes(self) -> set[str]:
        """Return the loops that committed steps gave work to, and forget them."""
        wakes, self._wakes = self._wakes, set()
        return wakes

    def holds(self, execution_id: str) -> bool:
        """Whether this orchestrator has the execution's live instance (or just created it)."""
        return execution_id in self._cache or execution_id in self._created

    def evict(self, execution_id: str) -> None:
        """Drop an execution's live instance (the next step replays its history)."""
        self._cache.pop(execution_id, None)
        self._created.pop(execution_id, None)

    def clear(self) -> None:
        """Drop every live instance."""
        self._cache.clear()
        self._created.clear()

    def created(self, record: ExecutionRecord, started: WorkflowStarted) -> None:
        """Note an execution this process just created, so its first step reads nothing.

        Its history is exactly ``started`` until a first step commits, and any
        other writer would make that commit conflict, so the note is safe to use.
        """
        self._created[record.id] = (record, started)
        while len(self._created) > max(self._cache_size, 1):
            self._created.popitem(last=False)

    async def _replay(self, record: ExecutionRecord) -> tuple[_Live, StepOutput]:
        created = self._created.pop(record.id, None)
        history: list[HistoryEvent]
        if created is not None:
            history = [created[1]]
        else:
            # Only the current run is replayed, and so only it is read.
            history = await self._backend.executions.history(record.id, record.run_start)
        self.replays += 1
        instance, output = WorkflowInstance.from_history(self._service, history)
        instance.run_start += record.run_start
        live = _Live(instance, record.run_start + len(history), record)
        self._cache[record.id] = live
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return live, output

    @contextlib.asynccontextmanager
    async def _exclusive(self, execution_id: str) -> AsyncIterator[None]:
        """Hold the execution's live instance: one step at a time mutates it.

        A claimed batch and a task outcome applied in place may meet on one
        execution in this process; the queue claim alone does not order them.
        """
        lock = self._locks.get(execution_id)
        if lock is None:
            lock = self._locks[execution_id] = asyncio.Lock()
        self._lock_users[execution_id] = self._lock_users.get(execution_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            users = self._lock_users[execution_id] - 1
            if users:
                self._lock_users[execution_id] = users
            else:
                del self._lock_users[execution_id]
                del self._locks[execution_id]

    async def process(self, batch: InboundBatch) -> ExecutionRecord | None:
        """Apply one batch and commit it; return the updated record (None if it lost).

        Raises nothing for workflow problems: failures of workflow code, bad input
        and nondeterminism end the execution with the error recorded.
        """
        async with self._exclusive(batch.execution_id):
            return await self._process(batch)

    async def apply_outcome(
        self, execution_id: str, token: str, event: HistoryEvent, cancel_timers: Sequence[str]
    ) -> ExecutionRecord | None:
        """Apply a task attempt's outcome in place and commit it with the attempt's end.

        The fast path for an attempt run in this process: the outcome is applied to
        the cached instance and committed together with forgetting the attempt
        (``StepCommit.finished``) and cancelling its deadline timers, in one write,
        without going through the queue. The commit is conditional on the history's
        length, so a step committed meanwhile by another process makes it lose.

        Returns:
            The updated record, or None when the outcome was not applied (the
            execution is not cached here or busy, the commit lost, or the code
            misbehaved): the caller then queues the outcome the ordinary way.
        """
        lock = self._locks.get(execution_id)
        if execution_id not in self._cache or (lock is not None and lock.locked()):
            return None
        async with self._exclusive(execution_id):
            live = self._cache.get(execution_id)
            if live is None or live.record.status is not ExecutionStatus.RUNNING:
                return None
            self._cache.move_to_end(execution_id)
            try:
                output = live.instance.apply([event])
                self._advance(live, output)
                new_record = live.instance.record(live.record)
            except DeterminismError:
                # The queued path replays from history and records the failure.
                self.evict(execution_id)
                return None
            except BaseException:
                self.evict(execution_id)  # half applied: never reuse it
                raise
            output.cancel_timers.extend(cancel_timers)
            try:
                return await self._commit(
                    live, new_record, output, lease=None, consumed=(), finished=(token,)
                )
            except Conflict:
                return None

    async def apply_start(self, execution_id: str) -> ExecutionRecord | None:
        """Run the first step of an execution this process just created, in place.

        The step consumes the queued ``WorkflowStarted`` message without claiming
        it: the commit is conditional on the history being just that event, so if
        another orchestrator took the message and stepped first, this one loses.

        Returns:
            The updated record, or None when the step was not taken here (the
            message then waits in the queue for an orchestrator).
        """
        if execution_id not in self._created:
            return None
        async with self._exclusive(execution_id):
            created = self._created.get(execution_id)
            if created is None or execution_id in self._cache:
                return None
            record = created[0]
            try:
                live, output = await self._replay(record)
                self._advance(live, output)
                new_record = live.instance.record(record)
            except DeterminismError:
                self.evict(execution_id)
                return None
            except BaseException:
                self.evict(execution_id)
                raise
            try:
                return await self._commit(
                    live,
                    new_record,
                    output,
                    lease=None,
                    consumed=(_ids.start_message_id(execution_id),),
                )
            except Conflict:
                return None

    async def _process(self, batch: InboundBatch) -> ExecutionRecord | None:
        execution_id = batch.execution_id
        live: _Live | None = self._cache.get(execution_id)
        created = self._created.get(execution_id)
        if live is not None:
            self._cache.move_to_end(execution_id)
            record: ExecutionRecord | None = live.record
        elif created is not None:
            record = created[0]
        else:
            record = await self._backend.executions.get(execution_id)
        if record is None or record.status is not ExecutionStatus.RUNNING:
            # The queue discards messages of unknown or ended executions at its next claim.
            await self._backend.queue.release(batch)
            self.evict(execution_id)
            return record
        try:
            output = StepOutput()
            if live is None:
                live, output = await self._replay(record)
            output.extend(live.instance.apply([m.event for m in batch.messages]))
            self._advance(live, output)
            new_record = live.instance.record(record)
        except DeterminismError as error:
            log.error("%s", error)
            self.evict(execution_id)
            return await self._fail(batch, record, error)
        except BaseException:
            self.evict(execution_id)  # half applied: never reuse it
            raise
        try:
            return await self._commit(
                live,
                new_record,
                output,
                lease=batch.lease,
                consumed=tuple(m.id for m in batch.messages),
            )
        except Conflict:
            await self._backend.queue.release(batch)
            return None

    async def _commit(
        self,
        live: _Live,
        new_record: ExecutionRecord,
        output: StepOutput,
        *,
        lease: str | None,
        consumed: tuple[str, ...],
        finished: tuple[str, ...] = (),
    ) -> ExecutionRecord:
        """Commit one step of a live instance; on any failure evict it and re-raise."""
        execution_id = new_record.id
        # Tasks that may start now are committed already claimed by this process's
        # worker, which starts them straight after the commit (no claim round trip).
        claim = None
        if (
            output.tasks
            and self._eager is not None
            and all(t.not_before is None for t in output.tasks)
        ):
            claim = self._eager.reserve(len(output.tasks))
        step = StepCommit(
            execution_id=execution_id,
            expected_length=live.committed,
            lease=lease,
            consumed=consumed,
            events=tuple(output.events),
            record=new_record,
            tasks=tuple(output.tasks),
            timers=tuple(output.timers),
            cancel_timers=tuple(output.cancel_timers),
            messages=tuple(output.messages),
            starts=tuple(output.starts),
            # Bus ids are fixed here, in the outbox row, so a redelivery keeps them.
            published=tuple(
                attrs.evolve(p, id=_ids.new_event_id(), time=self._clock.now())
                for p in output.published
            ),
            finished=finished + tuple(output.forget_tasks),
            task_claim=claim,
            # Unless the instance ends, it is cached here after this step.
            owner=None if live.instance.ended else self._owner,
        )
        # Lines first: a reader that sees the step (or the end) finds its lines. A
        # step that loses its commit runs again and logs them under the same keys.
        await store_logs(self._logs, output.logs)
        try:
            await self._backend.executions.commit(step)
        except BaseException:
            self._release(claim, step)
            self.evict(execution_id)
            raise
        if claim is not None and self._eager is not None:
            self._eager.start(step.tasks)
        live.committed += len(output.events)
        live.record = new_record
        self._note_wakes(step)
        if live.instance.ended:
            self.evict(execution_id)
        return new_record

    def _release(self, claim: Lease | None, step: StepCommit) -> None:
        if claim is not None and self._eager is not None:
            self._eager.release(len(step.tasks))

    def _advance(self, live: _Live, output: StepOutput) -> None:
        """Finish the step: start the next run of a workflow that continued as new, fire due timers.

        The next run's ``WorkflowStarted`` (and the signals it takes over) are in
        ``output`` already, written by the run that ended; its first step runs
        here, in the same commit, on a fresh instance that runs it as new code.
        The rest of the batch meant for the execution (signals, cancel and
        timeout requests after the one that made the run continue) is applied
        to the new run then, and recorded in its history, so a replay of it
        reads them like any other inbound event.
        """
        for _ in range(_MAX_IMMEDIATE_TIMER_ROUNDS):
            ended = live.instance
            if ended.continued is not None:
                position = live.committed + len(output.events) - len(ended.continued)
                instance, first = WorkflowInstance.next_run(
                    self._service, ended.continued, run_start=position, passed_on=ended.passed_on
                )
                output.extend(first)
                live.instance = instance
            self._fire_due_timers(live.instance, output)
            if live.instance.continued is None:
                return

    def _fire_due_timers(self, instance: WorkflowInstance, output: StepOutput) -> None:
        """Fire, within this step, the workflow timers it scheduled that are already due.

        A zero-length or past timer would otherwise cost a round through the timer
        worker and the queue to arrive at the same place: ``TimerFired`` recorded
        after ``TimerScheduled``, applied at the current time. Replay is unaffected
        (it reads both events from history). The rounds are bounded so that a
        workflow sleeping zero in a loop still yields to other executions.
        """
        for _ in range(_MAX_IMMEDIATE_TIMER_ROUNDS):
            now = self._clock.now()
            due = [t for t in output.timers if t.kind == "timer" and t.due <= now]
            if not due or instance.ended or instance.continued is not None:
                return
            fired = {t.id for t in due}
            output.timers = [t for t in output.timers if t.id not in fired]
            output.extend(instance.apply([TimerFired(timestamp=now, seq=t.seq) for t in due]))

    def _note_wakes(self, step: StepCommit) -> None:
        if step.tasks and step.task_claim is None:
            self._wakes.add("tasks")
        if step.timers:
            self._wakes.add("timers")
        if step.messages or step.starts:
            self._wakes.add("orchestrator")
        if step.published:
            self._wakes.add("events")

    async def _fail(
        self, batch: InboundBatch, record: ExecutionRecord, error: DeterminismError
    ) -> ExecutionRecord | None:
        now = self._clock.now()
        failed = ended_record(
            record,
            ExecutionStatus.FAILED,
            now,
            error_type=type(error).__name__,
            message=str(error),
        )
        history = await self._backend.executions.history(record.id)
        step = StepCommit(
            execution_id=record.id,
            expected_length=len(history),
            lease=batch.lease,
            consumed=tuple(m.id for m in batch.messages),
            events=(
                WorkflowFailedEvent(
                    timestamp=now, error_type=type(error).__name__, message=str(error)
                ),
            ),
            record=failed,
        )
        try:
            await self._backend.executions.commit(step)
        except Conflict:
            await self._backend.queue.release(batch)
            return None
        return failed
