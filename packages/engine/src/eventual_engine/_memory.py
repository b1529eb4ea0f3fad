"""The in-memory backend: the whole SPI in dictionaries, for tests and embedding.

It keeps the same contract as the SQLite backend (conditional commits, leases,
at-least-once timers and tasks), so the test environment exercises the real
orchestration logic; only durability is missing.
"""

from __future__ import annotations

import builtins
import itertools
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from eventual import ExecutionStatus
from eventual.codec import JsonValue
from eventual.history import (
    ExecutionRecord,
    HistoryEvent,
    PublishedEvent,
    WorkflowStarted,
)
from eventual.spi import (
    Conflict,
    ExecutionFilter,
    ExecutionPage,
    InboundBatch,
    InboundMessage,
    KeptAnswer,
    Lease,
    StepCommit,
    TaskRequest,
    TimerRequest,
)

from ._ids import lease_token, outbox_id, start_message_id
from ._logs import MemoryLogs
from ._start import clash_message

__all__ = ["MemoryBackend"]

_EARLIEST = datetime.min.replace(tzinfo=UTC)


class _Claim:
    __slots__ = ("owner", "token", "until")

    def __init__(self, owner: str, token: str, until: float) -> None:
        self.owner = owner
        self.token = token
        self.until = until


class _State:
    """What the parts of one in-memory backend share."""

    def __init__(self) -> None:
        self.records: dict[str, ExecutionRecord] = {}
        self.order: list[str] = []  # execution ids, oldest first
        self.histories: dict[str, list[HistoryEvent]] = {}
        self.queue: dict[str, dict[str, InboundMessage]] = {}
        self.queue_claims: dict[str, _Claim] = {}
        self.timers: dict[str, TimerRequest] = {}
        self.timer_claims: dict[str, float] = {}
        self.tasks: dict[str, TaskRequest] = {}
        self.task_claims: dict[str, _Claim] = {}
        self.heartbeats: dict[str, datetime] = {}
        self.outbox: dict[str, PublishedEvent] = {}
        self.ids = itertools.count(1)

    # --- ExecutionStore ------------------------------------------------------------

    def _create(self, record: ExecutionRecord, started: WorkflowStarted) -> ExecutionRecord:
        existing = self.records.get(record.id)
        if existing is not None:
            return existing
        self.records[record.id] = record
        self.order.append(record.id)
        self.histories[record.id] = [started]
        self.enqueue_now(
            [InboundMessage(id=start_message_id(record.id), execution_id=record.id, event=started)]
        )
        return record

    async def create(
        self, record: ExecutionRecord, started: WorkflowStarted, timers: Sequence[TimerRequest]
    ) -> ExecutionRecord:
        """Create an execution unless it exists; return the stored record."""
        stored = self._create(record, started)
        if stored is record:
            self.schedule_now(timers)
        return stored

    async def get(self, execution_id: str) -> ExecutionRecord | None:
        """Return the record, or None."""
        return self.records.get(execution_id)

    async def list(self, query: ExecutionFilter) -> ExecutionPage:
        """Return matching executions, newest first."""
        ids = list(reversed(self.order))
        if query.after is not None and query.after in self.records:
            ids = ids[ids.index(query.after) + 1 :]
        found: builtins.list[ExecutionRecord] = []
        for id_ in ids:
            record = self.records[id_]
            if query.workflow is not None and record.workflow != query.workflow:
                continue
            if query.status is not None and record.status is not query.status:
                continue
            found.append(record)
            if len(found) > query.limit:
                break
        page = found[: query.limit]
        more = len(found) > query.limit
        return ExecutionPage(executions=tuple(page), next=page[-1].id if more and page else None)

    async def history(self, execution_id: str, after: int = 0) -> builtins.list[HistoryEvent]:
        """Return the history, oldest first, from position ``after`` on."""
        return list(self.histories.get(execution_id, ())[after:])

    async def commit(self, step: StepCommit) -> None:
        """Apply a step atomically, or raise ``Conflict``."""
        history = self.histories.get(step.execution_id)
        if history is None or len(history) != step.expected_length:
            raise Conflict(f"{step.execution_id}: history changed")
        if step.lease is not None:
            claim = self.queue_claims.get(step.execution_id)
            if claim is None or claim.token != step.lease:
                raise Conflict(f"{step.execution_id}: lease lost")
            del self.queue_claims[step.execution_id]
        history.extend(step.events)
        self.records[step.execution_id] = step.record
        queued = self.queue.get(step.execution_id, {})
        for message_id in step.consumed:
            queued.pop(message_id, None)
        for token in step.finished:
            self.tasks.pop(token, None)
            self.task_claims.pop(token, None)
            self.heartbeats.pop(token, None)
        for task in step.tasks:
            if task.token in self.tasks:
                continue
            self.tasks[task.token] = task
            if step.task_claim is not None:
                until = time.monotonic() + step.task_claim.duration.total_seconds()
                self.task_claims[task.token] = _Claim(step.task_claim.owner, task.token, until)
        for timer_id in step.cancel_timers:
            self.timers.pop(timer_id, None)
            self.timer_claims.pop(timer_id, None)
        self.schedule_now(step.timers)
        for record, started in step.starts:
            stored = self._create(record, started)
            if stored is not record and stored.input_digest != record.input_digest:
                self._clash(stored, started)
        self.enqueue_now(step.messages)
        for event in step.published:
            self.outbox[outbox_id(step.execution_id, next(self.ids))] = event

    def _clash(self, existing: ExecutionRecord, started: WorkflowStarted) -> None:
        message = clash_message(existing, started)
        if message is not None:
            self.enqueue_now([message])

    def schedule_now(self, timers: Sequence[TimerRequest]) -> None:
        for timer in timers:
            self.timers[timer.id] = timer
            self.timer_claims.pop(timer.id, None)

    def take(
        self, execution_id: str, owner: str, lease: timedelta, now: float
    ) -> InboundBatch | None:
        """Claim an execution's queued messages, unless it is held or has none."""
        queued = self.queue.get(execution_id)
        if not queued:
            self.queue.pop(execution_id, None)
            return None
        record = self.records.get(execution_id)
        if record is None or record.status is not ExecutionStatus.RUNNING:
            # Messages for an unknown or ended execution are discarded.
            del self.queue[execution_id]
            return None
        claim = self.queue_claims.get(execution_id)
        if claim is not None and claim.until > now:
            return None
        token = lease_token(owner, str(next(self.ids)))
        self.queue_claims[execution_id] = _Claim(owner, token, now + lease.total_seconds())
        return InboundBatch(execution_id=execution_id, messages=tuple(queued.values()), lease=token)

    def enqueue_now(self, messages: Sequence[InboundMessage]) -> None:
        for message in messages:
            self.queue.setdefault(message.execution_id, {}).setdefault(message.id, message)


class _Queue:
    """``WorkflowQueue`` over the shared state."""

    def __init__(self, state: _State) -> None:
        self._s = state

    async def enqueue(self, messages: Sequence[InboundMessage]) -> None:
        """Queue messages; a message id already queued is ignored."""
        self._s.enqueue_now(messages)

    async def claim(self, owner: str, limit: int, lease: timedelta) -> builtins.list[InboundBatch]:
        """Claim queued messages of up to ``limit`` unclaimed executions."""
        now = time.monotonic()
        batches: builtins.list[InboundBatch] = []
        if limit <= 0:
            return batches
        for execution_id in list(self._s.queue):
            batch = self._s.take(execution_id, owner, lease, now)
            if batch is not None:
                batches.append(batch)
                if len(batches) >= limit:
                    break
        return batches

    async def release(self, batch: InboundBatch) -> None:
        """Drop a claim, leaving the messages queued."""
        claim = self._s.queue_claims.get(batch.execution_id)
        if claim is not None and claim.token == batch.lease:
            del self._s.queue_claims[batch.execution_id]

    async def pending(self) -> int:
        """Return how many messages are queued for running executions."""
        total = 0
        for execution_id, queued in self._s.queue.items():
            record = self._s.records.get(execution_id)
            if record is not None and record.status is ExecutionStatus.RUNNING:
                total += len(queued)
        return total


class _Timers:
    """``TimerService`` over the shared state."""

    def __init__(self, state: _State) -> None:
        self._s = state

    async def schedule(self, timers: Sequence[TimerRequest]) -> None:
        """Schedule or replace timers."""
        self._s.schedule_now(timers)

    async def claim_due(
        self, owner: str, now: datetime, limit: int, lease: timedelta
    ) -> builtins.list[TimerRequest]:
        """Claim due timers, earliest first."""
        real = time.monotonic()
        due = sorted(
            (
                t
                for t in self._s.timers.values()
                if t.due <= now and self._s.timer_claims.get(t.id, 0) <= real
            ),
            key=lambda t: (t.due, t.id),
        )[:limit]
        for timer in due:
            self._s.timer_claims[timer.id] = real + lease.total_seconds()
        return due

    async def complete(self, timer_ids: Sequence[str]) -> None:
        """Delete fired timers."""
        for timer_id in timer_ids:
            self._s.timers.pop(timer_id, None)
            self._s.timer_claims.pop(timer_id, None)

    async def next_due(self) -> datetime | None:
        """Return the earliest due time of unclaimed timers."""
        real = time.monotonic()
        dues = [t.due for t in self._s.timers.values() if self._s.timer_claims.get(t.id, 0) <= real]
        return min(dues, default=None)


class _Tasks:
    """``TaskDispatch`` over the shared state."""

    def __init__(self, state: _State) -> None:
        self._s = state

    async def claim(
        self, owner: str, now: datetime, limit: int, lease: timedelta
    ) -> builtins.list[TaskRequest]:
        """Claim ready attempts in dispatch order (``TaskDispatch.claim``)."""
        real = time.monotonic()
        claimed: builtins.list[TaskRequest] = []
        for token, task in self._s.tasks.items():
            if len(claimed) >= limit:
                break
            if task.not_before is not None and task.not_before > now:
                continue
            claim = self._s.task_claims.get(token)
            if claim is not None and claim.until > real:
                continue
            self._s.task_claims[token] = _Claim(owner, token, real + lease.total_seconds())
            claimed.append(task)
        return claimed

    async def renew(self, owner: str, tokens: Sequence[str], lease: timedelta) -> None:
        """Extend claims held by ``owner``."""
        until = time.monotonic() + lease.total_seconds()
        for token in tokens:
            claim = self._s.task_claims.get(token)
            if claim is not None and claim.owner == owner:
                claim.until = until

    async def heartbeat(self, token: str, now: datetime, details: JsonValue) -> bool:
        """Record a heartbeat; False if the attempt is gone."""
        if token not in self._s.tasks:
            return False
        self._s.heartbeats[token] = now
        return True

    async def last_heartbeat(self, token: str) -> datetime | None:
        """Return the last heartbeat time of a live attempt."""
        return self._s.heartbeats.get(token) if token in self._s.tasks else None

    async def finish(
        self, token: str, outcome: InboundMessage | None = None, *, claim: Lease | None = None
    ) -> InboundBatch | None:
        """Forget a completed attempt, queueing its outcome (and claiming it) at the same time."""
        if outcome is not None:
            self._s.enqueue_now([outcome])
        self._s.tasks.pop(token, None)
        self._s.task_claims.pop(token, None)
        self._s.heartbeats.pop(token, None)
        if outcome is None or claim is None:
            return None
        return self._s.take(outcome.execution_id, claim.owner, claim.duration, time.monotonic())

    async def next_ready(self) -> datetime | None:
        """Return the earliest ``not_before`` of unclaimed attempts (``datetime.min`` if now)."""
        real = time.monotonic()
        ready: builtins.list[datetime] = []
        for token, task in self._s.tasks.items():
            claim = self._s.task_claims.get(token)
            if claim is None or claim.until <= real:
                ready.append(task.not_before or _EARLIEST)
        return min(ready, default=None)

    async def pending(self) -> int:
        """Return how many attempts are waiting or running."""
        return len(self._s.tasks)


class _Idempotency:
    """Answers kept under idempotency keys, expired ones dropped as keys are taken."""

    def __init__(self) -> None:
        self._kept: dict[str, KeptAnswer] = {}

    async def take(self, taking: KeptAnswer, now: datetime) -> KeptAnswer | None:
        """Take a free key; return the live entry instead when there is one."""
        existing = self._kept.get(taking.key)
        if existing is not None and existing.live_at(now):
            return existing
        for key in [key for key, kept in self._kept.items() if now >= kept.expires_at]:
            del self._kept[key]
        self._kept[taking.key] = taking
        return None

    async def keep(self, kept: KeptAnswer) -> None:
        """Store the answer under its key."""
        self._kept[kept.key] = kept

    async def forget(self, key: str, fingerprint: str) -> None:
        """Free a key taken with this fingerprint."""
        existing = self._kept.get(key)
        if existing is not None and existing.fingerprint == fingerprint:
            del self._kept[key]


class MemoryBackend:
    """Every backend protocol, kept in this process's memory."""

    def __init__(self) -> None:
        self._state = _State()
        self._idempotency = _Idempotency()
        self._queue = _Queue(self._state)
        self._timers = _Timers(self._state)
        self._tasks = _Tasks(self._state)
        self._logs = MemoryLogs()

    @property
    def logs(self) -> MemoryLogs:
        """Log entries per execution."""
        return self._logs

    @property
    def executions(self) -> _State:
        """Execution records and histories."""
        return self._state

    @property
    def queue(self) -> _Queue:
        """Inbound messages per execution."""
        return self._queue

    @property
    def timers(self) -> _Timers:
        """Durable timers."""
        return self._timers

    @property
    def tasks(self) -> _Tasks:
        """Task attempts."""
        return self._tasks

    @property
    def idempotency(self) -> _Idempotency:
        """Answers kept under idempotency keys."""
        return self._idempotency

    async def open(self) -> MemoryBackend:
        """Nothing to connect; returns the backend."""
        return self

    async def close(self) -> None:
        """Nothing to release."""

    async def published(self, limit: int) -> builtins.list[tuple[str, PublishedEvent]]:
        """Return published events not yet delivered."""
        return list(itertools.islice(self._state.outbox.items(), limit))

    async def ack_published(self, ids: Sequence[str]) -> None:
        """Remove delivered events."""
        for id_ in ids:
            self._state.outbox.pop(id_, None)
