"""What the checks share, for a backend's own tests too: lease timing, sample values, steps.

A backend's tests of what the contract cannot stage (its own races, its storage
layout) build executions, messages, tasks and commits with these helpers, the
way the contract's checks do: ``start(backend, name)`` creates an execution,
``signal``, ``task`` and ``timer`` make requests, ``consume`` a step that
consumes a claimed batch, ``claim_one`` and ``started_and_claimed`` claim.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from eventual import ExecutionStatus
from eventual.history import ExecutionRecord, SignalReceived, TaskScheduled, WorkflowStarted
from eventual.spi import (
    Backend,
    Conflict,
    InboundBatch,
    InboundMessage,
    Lease,
    StepCommit,
    TaskRequest,
    TimerRequest,
)

__all__ = [
    "LONG",
    "SCHEDULED",
    "T0",
    "Timing",
    "claim_one",
    "consume",
    "dispatch",
    "done",
    "make_record",
    "message_ids",
    "raises_conflict",
    "signal",
    "start",
    "started_and_claimed",
    "started_of",
    "task",
    "timer",
]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LONG = timedelta(seconds=30)


@attrs.frozen(kw_only=True)
class Timing:
    """How the checks that need a lease to lapse wait for it.

    Attributes:
        short: A lease that lapses during the check. It must outlast the backend
            calls made between taking it and relying on it still being held (two
            or three round trips), so a backend across a network needs a longer one.
        lapse: Seconds slept after which a ``short`` lease has surely lapsed.
    """

    short: timedelta = timedelta(milliseconds=50)
    lapse: float = 0.12


@contextlib.contextmanager
def raises_conflict() -> Iterator[None]:
    """Fail unless the block raises :class:`eventual.spi.Conflict`."""
    try:
        yield
    except Conflict:
        return
    raise AssertionError("the write was accepted; the contract requires Conflict")


def make_record(
    name: str,
    *,
    workflow: str = "wf",
    status: ExecutionStatus = ExecutionStatus.RUNNING,
    digest: str = "digest-1",
    parent_id: str | None = None,
) -> ExecutionRecord:
    """Return a record of a new execution ``{workflow}/{name}`` started at ``T0``."""
    return ExecutionRecord(
        id=f"{workflow}/{name}",
        workflow=workflow,
        name=name,
        status=status,
        input={"name": name},
        input_digest=digest,
        parent_id=parent_id,
        started_at=T0,
    )


def started_of(record: ExecutionRecord, parent_seq: int | None = None) -> WorkflowStarted:
    """Return the ``WorkflowStarted`` event of ``record``."""
    return WorkflowStarted(
        timestamp=T0,
        execution_id=record.id,
        workflow=record.workflow,
        name=record.name,
        input=record.input,
        parent_id=record.parent_id,
        parent_seq=parent_seq,
    )


async def start(
    backend: Backend, name: str, *, workflow: str = "wf", timers: Sequence[TimerRequest] = ()
) -> ExecutionRecord:
    """Create an execution and check that the backend stored it as given."""
    record = make_record(name, workflow=workflow)
    stored = await backend.executions.create(record, started_of(record), timers)
    assert stored == record
    return record


def signal(execution_id: str, message_id: str) -> InboundMessage:
    """Return a signal message for ``execution_id`` whose payload is its id."""
    event = SignalReceived(timestamp=T0, signal="go", payload=message_id, id=message_id)
    return InboundMessage(id=message_id, execution_id=execution_id, event=event)


def task(execution_id: str, seq: int, *, not_before: datetime | None = None) -> TaskRequest:
    """Return the first attempt of task call ``seq``."""
    return TaskRequest(
        token=f"{execution_id}|{seq}|1",
        execution_id=execution_id,
        seq=seq,
        task="work",
        args=[seq],
        not_before=not_before,
    )


def timer(execution_id: str, timer_id: str, due: datetime) -> TimerRequest:
    """Return a workflow timer."""
    return TimerRequest(id=timer_id, execution_id=execution_id, due=due, kind="timer", seq=1)


def consume(batch: InboundBatch, record: ExecutionRecord, length: int, **parts: Any) -> StepCommit:
    """Return a step that consumes the whole batch; ``parts`` are further StepCommit fields."""
    return StepCommit(
        execution_id=batch.execution_id,
        expected_length=length,
        lease=batch.lease,
        consumed=tuple(m.id for m in batch.messages),
        record=record,
        **parts,
    )


async def claim_one(backend: Backend, owner: str = "o1", lease: timedelta = LONG) -> InboundBatch:
    """Claim exactly one execution's batch."""
    batches = await backend.queue.claim(owner, 1, lease)
    assert len(batches) == 1
    return batches[0]


async def started_and_claimed(
    backend: Backend, name: str = "a"
) -> tuple[ExecutionRecord, InboundBatch]:
    """Create an execution and claim its start message."""
    record = await start(backend, name)
    return record, await claim_one(backend)


def message_ids(batch: InboundBatch) -> list[str]:
    """Return the ids of a batch's messages, in order."""
    return [m.id for m in batch.messages]


def done(record: ExecutionRecord) -> ExecutionRecord:
    """Return ``record`` ended successfully with result 1."""
    return ExecutionRecord(
        id=record.id,
        workflow=record.workflow,
        name=record.name,
        status=ExecutionStatus.SUCCEEDED,
        input=record.input,
        input_digest=record.input_digest,
        started_at=record.started_at,
        ended_at=T0,
        result=1,
    )


SCHEDULED = TaskScheduled(timestamp=T0, seq=1, task="work", args=[1])

_dispatchers = itertools.count()


async def dispatch(backend: Backend, *tasks: TaskRequest, claim: Lease | None = None) -> None:
    """Dispatch tasks through a commit, the way the orchestrator does."""
    record = await start(backend, f"dispatcher-{next(_dispatchers)}")
    step = StepCommit(
        execution_id=record.id,
        expected_length=1,
        lease=None,
        consumed=(f"{record.id}|start",),
        record=record,
        tasks=tasks,
        task_claim=claim,
    )
    await backend.executions.commit(step)
