"""The backend contract, run against every built-in backend, plus SQLite-only properties.

Each contract test takes the ``backend`` fixture and runs once on ``MemoryBackend``
and once on ``SqliteBackend``: the in-memory backend is the reference, so the two
must agree on everything a caller can observe.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import sqlite3
import sys
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from eventual import ExecutionStatus
from eventual.history import (
    ChildWorkflowFailed,
    ExecutionRecord,
    HistoryEvent,
    PublishedEvent,
    SignalReceived,
    TaskScheduled,
    WorkflowStarted,
    WorkflowSucceeded,
)
from eventual.spi import (
    Backend,
    Conflict,
    ExecutionFilter,
    InboundBatch,
    InboundMessage,
    Lease,
    StepCommit,
    TaskRequest,
    TimerRequest,
)
from eventual_engine._memory import MemoryBackend
from eventual_engine._sqlite import (
    SCHEMA_VERSION,
    DatabaseClosed,
    SchemaVersionError,
    SqliteBackend,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LONG = timedelta(seconds=30)
SHORT = timedelta(milliseconds=50)
LAPSE = 0.12  # seconds of sleep after which a SHORT lease has surely lapsed


# --- fixtures and helpers -------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Each built-in backend, empty (SQLite on a fresh file)."""
    created: Backend
    if request.param == "memory":
        created = MemoryBackend()
    else:
        created = await SqliteBackend(tmp_path / "eventual.db").open()
    yield created
    await created.close()


def make_record(
    name: str,
    *,
    workflow: str = "wf",
    status: ExecutionStatus = ExecutionStatus.RUNNING,
    digest: str = "digest-1",
    parent_id: str | None = None,
) -> ExecutionRecord:
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
    record = make_record(name, workflow=workflow)
    stored = await backend.executions.create(record, started_of(record), timers)
    assert stored == record
    return record


def signal(execution_id: str, message_id: str) -> InboundMessage:
    event = SignalReceived(timestamp=T0, signal="go", payload=message_id, id=message_id)
    return InboundMessage(id=message_id, execution_id=execution_id, event=event)


def task(execution_id: str, seq: int, *, not_before: datetime | None = None) -> TaskRequest:
    return TaskRequest(
        token=f"{execution_id}|{seq}|1",
        execution_id=execution_id,
        seq=seq,
        task="work",
        args=[seq],
        not_before=not_before,
    )


def timer(execution_id: str, timer_id: str, due: datetime) -> TimerRequest:
    return TimerRequest(id=timer_id, execution_id=execution_id, due=due, kind="timer", seq=1)


def consume(batch: InboundBatch, record: ExecutionRecord, length: int, **parts: Any) -> StepCommit:
    """A step that consumes the whole batch; ``parts`` are further StepCommit fields."""
    return StepCommit(
        execution_id=batch.execution_id,
        expected_length=length,
        lease=batch.lease,
        consumed=tuple(m.id for m in batch.messages),
        record=record,
        **parts,
    )


async def claim_one(backend: Backend, owner: str = "o1", lease: timedelta = LONG) -> InboundBatch:
    batches = await backend.queue.claim(owner, 1, lease)
    assert len(batches) == 1
    return batches[0]


async def started_and_claimed(
    backend: Backend, name: str = "a"
) -> tuple[ExecutionRecord, InboundBatch]:
    record = await start(backend, name)
    return record, await claim_one(backend)


def message_ids(batch: InboundBatch) -> list[str]:
    return [m.id for m in batch.messages]


def done(record: ExecutionRecord) -> ExecutionRecord:
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


# --- executions -------------------------------------------------------------------------


async def test_create_writes_started_history_and_queues_start(backend: Backend) -> None:
    """A new execution has ``[WorkflowStarted]`` as history and its start message queued."""
    record = await start(backend, "a")
    assert await backend.executions.get(record.id) == record
    assert await backend.executions.history(record.id) == [started_of(record)]
    batch = await claim_one(backend)
    assert batch.execution_id == record.id
    assert [(m.id, m.event) for m in batch.messages] == [(f"{record.id}|start", started_of(record))]


async def test_create_existing_returns_stored_record_unchanged(backend: Backend) -> None:
    """Creating an id that exists returns the stored record and writes nothing."""
    first = await start(backend, "a")
    other = make_record("a", digest="digest-2")
    due = timer(first.id, "t", T0)
    stored = await backend.executions.create(other, started_of(other), [due])
    assert stored == first
    assert await backend.executions.history(first.id) == [started_of(first)]
    assert await backend.queue.pending() == 1
    assert await backend.timers.next_due() is None


async def test_create_schedules_timers(backend: Backend) -> None:
    """Timers given to ``create`` are scheduled with the new execution."""
    record = make_record("a")
    due = timer(record.id, "timeout", T0 + timedelta(hours=1))
    await backend.executions.create(record, started_of(record), [due])
    assert await backend.timers.next_due() == due.due


async def test_unknown_execution_has_no_record_or_history(backend: Backend) -> None:
    """``get`` of an unknown id is None and its history is empty."""
    assert await backend.executions.get("wf/none") is None
    assert await backend.executions.history("wf/none") == []


async def test_commit_appends_events_and_updates_record(backend: Backend) -> None:
    """A commit appends its events after the history and replaces the record."""
    record, batch = await started_and_claimed(backend)
    ended = done(record)
    finished = WorkflowSucceeded(timestamp=T0, result=1)
    await backend.executions.commit(consume(batch, ended, 1, events=(SCHEDULED, finished)))
    assert await backend.executions.history(record.id) == [started_of(record), SCHEDULED, finished]
    assert await backend.executions.get(record.id) == ended


async def test_commit_applies_every_outbox_part(backend: Backend) -> None:
    """Consumed messages, tasks, timers, cancels, messages, starts and publishes all apply."""
    record = await start(backend, "a", timers=[timer("wf/a", "old", T0)])
    other = await start(backend, "b")
    await backend.queue.enqueue([signal(record.id, "s1")])
    batch = await claim_one(backend)
    assert message_ids(batch) == ["wf/a|start", "s1"]
    child = make_record("child", parent_id=record.id)
    published = PublishedEvent(name="thing.happened", payload={"n": 1})
    step = consume(
        batch,
        record,
        1,
        events=(SCHEDULED,),
        tasks=(task(record.id, 1),),
        timers=(timer(record.id, "new", T0 + timedelta(minutes=5)),),
        cancel_timers=("old",),
        messages=(signal(other.id, "to-b"),),
        starts=((child, started_of(child, parent_seq=2)),),
        published=(published,),
    )
    await backend.executions.commit(step)

    assert await backend.executions.history(record.id) == [started_of(record), SCHEDULED]
    assert await backend.tasks.claim("w", T0, 10, LONG) == [task(record.id, 1)]
    assert await backend.timers.next_due() == T0 + timedelta(minutes=5)
    assert await backend.executions.get(child.id) == child
    assert await backend.executions.history(child.id) == [started_of(child, parent_seq=2)]
    assert [(id_.split("|")[0], event) for id_, event in await backend.published(10)] == [
        (record.id, published)
    ]
    batches = {b.execution_id: message_ids(b) for b in await backend.queue.claim("o2", 10, LONG)}
    # "a" consumed everything it had; "b" got the message; the child was started.
    assert batches == {other.id: ["wf/b|start", "to-b"], child.id: ["wf/child|start"]}


async def test_commit_without_lease_starts_unclaimed(backend: Backend) -> None:
    """A commit with ``lease=None`` (a start step) needs no claim."""
    record = await start(backend, "a")
    step = StepCommit(
        execution_id=record.id,
        expected_length=1,
        lease=None,
        consumed=(f"{record.id}|start",),
        events=(SCHEDULED,),
        record=record,
    )
    await backend.executions.commit(step)
    assert len(await backend.executions.history(record.id)) == 2
    assert await backend.queue.pending() == 0


async def test_commit_conflict_on_wrong_length_writes_nothing(backend: Backend) -> None:
    """A step computed from a stale history length is refused and leaves no trace."""
    record, batch = await started_and_claimed(backend)
    child = make_record("child", parent_id=record.id)
    step = consume(
        batch,
        done(record),
        0,
        events=(SCHEDULED,),
        tasks=(task(record.id, 1),),
        timers=(timer(record.id, "t", T0),),
        messages=(signal(record.id, "again"),),
        starts=((child, started_of(child, parent_seq=1)),),
        published=(PublishedEvent(name="e", payload=None),),
    )
    with pytest.raises(Conflict):
        await backend.executions.commit(step)
    assert await backend.executions.history(record.id) == [started_of(record)]
    assert await backend.executions.get(record.id) == record
    assert await backend.executions.get(child.id) is None
    assert await backend.tasks.pending() == 0
    assert await backend.timers.next_due() is None
    assert await backend.published(10) == []
    await backend.queue.release(batch)
    assert message_ids(await claim_one(backend)) == [f"{record.id}|start"]


async def test_commit_conflict_on_foreign_lease(backend: Backend) -> None:
    """A step presenting a lease that is not the current claim's is refused."""
    record, batch = await started_and_claimed(backend)
    forged = InboundBatch(execution_id=record.id, messages=batch.messages, lease="forged")
    with pytest.raises(Conflict):
        await backend.executions.commit(consume(forged, record, 1, events=(SCHEDULED,)))
    assert await backend.executions.history(record.id) == [started_of(record)]
    await backend.executions.commit(consume(batch, record, 1, events=(SCHEDULED,)))
    assert len(await backend.executions.history(record.id)) == 2


async def test_commit_conflict_on_lost_lease(backend: Backend) -> None:
    """Once a lapsed claim is taken over, the first owner's commit is refused."""
    record = await start(backend, "a")
    stale = await claim_one(backend, "o1", SHORT)
    await asyncio.sleep(LAPSE)
    fresh = await claim_one(backend, "o2", LONG)
    with pytest.raises(Conflict):
        await backend.executions.commit(consume(stale, record, 1, events=(SCHEDULED,)))
    assert await backend.executions.history(record.id) == [started_of(record)]
    assert await backend.tasks.pending() == 0
    await backend.executions.commit(consume(fresh, record, 1, events=(SCHEDULED,)))


async def test_commit_conflict_on_unknown_execution(backend: Backend) -> None:
    """Committing to an execution that does not exist is a conflict."""
    record = make_record("ghost")
    step = StepCommit(execution_id=record.id, expected_length=0, lease=None, record=record)
    with pytest.raises(Conflict):
        await backend.executions.commit(step)
    assert await backend.executions.get(record.id) is None


async def test_concurrent_commits_conflict_alone(backend: Backend) -> None:
    """Among concurrent commits, only the conflicting one fails; the others apply."""
    records = [await start(backend, f"e{i}") for i in range(8)]
    batches = {b.execution_id: b for b in await backend.queue.claim("o1", 8, LONG)}
    steps = [
        consume(batches[r.id], r, 0 if i == 3 else 1, events=(SCHEDULED,), tasks=(task(r.id, 1),))
        for i, r in enumerate(records)
    ]
    outcomes = await asyncio.gather(
        *(backend.executions.commit(s) for s in steps), return_exceptions=True
    )
    assert [isinstance(o, Conflict) for o in outcomes] == [i == 3 for i in range(8)]
    lengths = [len(await backend.executions.history(r.id)) for r in records]
    assert lengths == [1 if i == 3 else 2 for i in range(8)]
    assert await backend.tasks.pending() == 7


async def test_commit_ignores_known_task_token(backend: Backend) -> None:
    """Dispatching a task token that is already waiting keeps the first request."""
    record, batch = await started_and_claimed(backend)
    await backend.executions.commit(consume(batch, record, 1, tasks=(task(record.id, 1),)))
    await backend.queue.enqueue([signal(record.id, "s")])
    again = await claim_one(backend)
    duplicate = TaskRequest(
        token=f"{record.id}|1|1", execution_id=record.id, seq=9, task="x", args=[]
    )
    await backend.executions.commit(consume(again, record, 1, tasks=(duplicate,)))
    assert await backend.tasks.pending() == 1
    assert await backend.tasks.claim("w", T0, 10, LONG) == [task(record.id, 1)]


async def test_child_start_clash_tells_parent(backend: Backend) -> None:
    """Starting a child whose id exists with another input sends the parent a failure."""
    taken = await start(backend, "child")
    parent = await start(backend, "parent")
    batches = await backend.queue.claim("o1", 10, LONG)
    by_id = {b.execution_id: b for b in batches}
    await backend.executions.commit(consume(by_id[taken.id], taken, 1))
    child = make_record("child", digest="digest-2", parent_id=parent.id)
    step = consume(by_id[parent.id], parent, 1, starts=((child, started_of(child, parent_seq=4)),))
    await backend.executions.commit(step)

    assert await backend.executions.get(child.id) == taken
    batch = await claim_one(backend)
    assert batch.execution_id == parent.id
    assert [(m.id, m.event) for m in batch.messages] == [
        (
            f"{child.id}|clash|{parent.id}",
            ChildWorkflowFailed(
                timestamp=T0,
                seq=4,
                error_type="ExecutionAlreadyExists",
                message=f"execution {child.id!r} exists with another input",
            ),
        )
    ]


async def test_child_start_with_same_input_is_a_repeat(backend: Backend) -> None:
    """Starting a child whose id exists with the same input changes nothing."""
    taken = await start(backend, "child")
    parent = await start(backend, "parent")
    by_id = {b.execution_id: b for b in await backend.queue.claim("o1", 10, LONG)}
    await backend.executions.commit(consume(by_id[taken.id], taken, 1))
    child = make_record("child", parent_id=parent.id)
    step = consume(by_id[parent.id], parent, 1, starts=((child, started_of(child, parent_seq=4)),))
    await backend.executions.commit(step)
    assert await backend.executions.get(child.id) == taken
    assert await backend.queue.pending() == 0


async def test_list_filters_and_pages_newest_first(backend: Backend) -> None:
    """Listing is newest first, filters by workflow and status, and pages with a cursor."""
    a1 = await start(backend, "1", workflow="a")
    b2 = await start(backend, "2", workflow="b")
    a3 = await start(backend, "3", workflow="a")
    a4 = await start(backend, "4", workflow="a")
    b5 = await start(backend, "5", workflow="b")
    by_id = {b.execution_id: b for b in await backend.queue.claim("o", 10, LONG)}
    await backend.executions.commit(consume(by_id[a3.id], done(a3), 1))
    a3 = done(a3)

    first = await backend.executions.list(ExecutionFilter(limit=2))
    assert first.executions == (b5, a4)
    assert first.next == a4.id
    second = await backend.executions.list(ExecutionFilter(limit=2, after=first.next))
    assert second.executions == (a3, b2)
    third = await backend.executions.list(ExecutionFilter(limit=2, after=second.next))
    assert (third.executions, third.next) == ((a1,), None)

    only_a = await backend.executions.list(ExecutionFilter(workflow="a"))
    assert (only_a.executions, only_a.next) == ((a4, a3, a1), None)
    running_a = await backend.executions.list(
        ExecutionFilter(workflow="a", status=ExecutionStatus.RUNNING, limit=1)
    )
    assert (running_a.executions, running_a.next) == ((a4,), a4.id)
    rest = await backend.executions.list(
        ExecutionFilter(workflow="a", status=ExecutionStatus.RUNNING, after=a4.id)
    )
    assert rest.executions == (a1,)
    succeeded = await backend.executions.list(ExecutionFilter(status=ExecutionStatus.SUCCEEDED))
    assert succeeded.executions == (a3,)
    exact = await backend.executions.list(ExecutionFilter(workflow="b", limit=2))
    assert (exact.executions, exact.next) == ((b5, b2), None)


async def test_list_ignores_unknown_cursor(backend: Backend) -> None:
    """A cursor naming no execution lists from the newest."""
    first = await start(backend, "1")
    second = await start(backend, "2")
    page = await backend.executions.list(ExecutionFilter(after="wf/none"))
    assert page.executions == (second, first)


# --- queue ---------------------------------------------------------------------------------


async def test_claim_is_fifo_per_execution_and_keeps_unconsumed(backend: Backend) -> None:
    """A batch holds messages in arrival order; unconsumed ones come back next claim."""
    record = await start(backend, "a")
    await backend.queue.enqueue([signal(record.id, "m1"), signal(record.id, "m2")])
    await backend.queue.enqueue([signal(record.id, "m3")])
    batch = await claim_one(backend)
    assert message_ids(batch) == [f"{record.id}|start", "m1", "m2", "m3"]
    step = StepCommit(
        execution_id=record.id,
        expected_length=1,
        lease=batch.lease,
        consumed=(f"{record.id}|start", "m1"),
        record=record,
    )
    await backend.executions.commit(step)
    assert message_ids(await claim_one(backend, "o2")) == ["m2", "m3"]


async def test_claim_is_exclusive_between_owners(backend: Backend) -> None:
    """An execution claimed by one owner is not handed to another."""
    first = await start(backend, "a")
    taken = await claim_one(backend, "o1")
    assert taken.execution_id == first.id
    assert await backend.queue.claim("o2", 10, LONG) == []
    second = await start(backend, "b")
    assert [b.execution_id for b in await backend.queue.claim("o2", 10, LONG)] == [second.id]


async def test_claim_respects_limit_in_arrival_order(backend: Backend) -> None:
    """At most ``limit`` executions are claimed, oldest arrivals first."""
    ids = [(await start(backend, name)).id for name in ("a", "b", "c")]
    assert [b.execution_id for b in await backend.queue.claim("o1", 2, LONG)] == ids[:2]
    assert [b.execution_id for b in await backend.queue.claim("o1", 2, LONG)] == ids[2:]


async def test_lapsed_claim_can_be_taken_over(backend: Backend) -> None:
    """When a claim's lease passes, another owner claims the same messages."""
    record = await start(backend, "a")
    await claim_one(backend, "o1", SHORT)
    assert await backend.queue.claim("o2", 1, LONG) == []
    await asyncio.sleep(LAPSE)
    batch = await claim_one(backend, "o2")
    assert (batch.execution_id, message_ids(batch)) == (record.id, [f"{record.id}|start"])


async def test_release_leaves_messages_for_others(backend: Backend) -> None:
    """Releasing a claim makes the execution claimable again with its messages."""
    await start(backend, "a")
    batch = await claim_one(backend, "o1")
    await backend.queue.release(batch)
    assert message_ids(await claim_one(backend, "o2")) == message_ids(batch)


async def test_release_of_a_lost_claim_is_ignored(backend: Backend) -> None:
    """Releasing a claim that another owner has since taken does not free it."""
    await start(backend, "a")
    stale = await claim_one(backend, "o1", SHORT)
    await asyncio.sleep(LAPSE)
    await claim_one(backend, "o2")
    await backend.queue.release(stale)
    assert await backend.queue.claim("o3", 1, LONG) == []


async def test_messages_of_ended_or_unknown_executions_are_discarded(backend: Backend) -> None:
    """Messages for an ended or unknown execution are neither counted nor handed out."""
    record, batch = await started_and_claimed(backend)
    await backend.executions.commit(consume(batch, done(record), 1))
    await backend.queue.enqueue([signal(record.id, "late"), signal("wf/ghost", "lost")])
    assert await backend.queue.pending() == 0
    assert await backend.queue.claim("o1", 10, LONG) == []
    live = await start(backend, "b")
    assert [b.execution_id for b in await backend.queue.claim("o1", 10, LONG)] == [live.id]


async def test_enqueue_ignores_queued_ids(backend: Backend) -> None:
    """A message whose id is already queued is not queued twice."""
    record = await start(backend, "a")
    await backend.queue.enqueue([signal(record.id, "m"), signal(record.id, "m")])
    await backend.queue.enqueue([signal(record.id, "m")])
    assert await backend.queue.pending() == 2
    assert message_ids(await claim_one(backend)) == [f"{record.id}|start", "m"]


async def test_pending_counts_claimed_and_unclaimed(backend: Backend) -> None:
    """``pending`` counts queued messages whether or not they are claimed."""
    record = await start(backend, "a")
    await start(backend, "b")
    await backend.queue.enqueue([signal(record.id, "m")])
    await claim_one(backend)
    assert await backend.queue.pending() == 3


# --- timers -------------------------------------------------------------------------------


async def test_timers_claimed_when_due_earliest_first(backend: Backend) -> None:
    """Due timers come earliest first (ties by id); timers not yet due stay."""
    late = timer("wf/a", "late", T0 + timedelta(minutes=2))
    tie_b = timer("wf/a", "b", T0 + timedelta(minutes=1))
    tie_a = timer("wf/a", "a", T0 + timedelta(minutes=1))
    first = timer("wf/a", "z", T0)
    await backend.timers.schedule([late, tie_b, tie_a, first])
    now = T0 + timedelta(minutes=1)
    assert await backend.timers.claim_due("o1", now, 2, LONG) == [first, tie_a]
    assert await backend.timers.claim_due("o1", now, 10, LONG) == [tie_b]
    assert await backend.timers.claim_due("o1", now, 10, LONG) == []


async def test_claimed_timer_returns_after_its_lease(backend: Backend) -> None:
    """A claimed timer is hidden from others until its lease lapses without completion."""
    due = timer("wf/a", "t", T0)
    await backend.timers.schedule([due])
    assert await backend.timers.claim_due("o1", T0, 10, SHORT) == [due]
    assert await backend.timers.claim_due("o2", T0, 10, LONG) == []
    await asyncio.sleep(LAPSE)
    assert await backend.timers.claim_due("o2", T0, 10, LONG) == [due]


async def test_completed_timer_is_gone(backend: Backend) -> None:
    """A completed timer is neither claimed again nor reported by ``next_due``."""
    due = timer("wf/a", "t", T0)
    await backend.timers.schedule([due])
    await backend.timers.claim_due("o1", T0, 10, SHORT)
    await backend.timers.complete(["t", "unknown"])
    await asyncio.sleep(LAPSE)
    assert await backend.timers.claim_due("o1", T0, 10, LONG) == []
    assert await backend.timers.next_due() is None


async def test_scheduling_a_known_timer_id_replaces_it(backend: Backend) -> None:
    """Rescheduling a timer id replaces its due time and drops its claim."""
    await backend.timers.schedule([timer("wf/a", "t", T0)])
    await backend.timers.claim_due("o1", T0, 10, LONG)
    moved = timer("wf/a", "t", T0 + timedelta(minutes=5))
    await backend.timers.schedule([moved])
    assert await backend.timers.next_due() == moved.due
    assert await backend.timers.claim_due("o2", T0, 10, LONG) == []
    assert await backend.timers.claim_due("o2", moved.due, 10, LONG) == [moved]


async def test_commit_cancels_and_schedules_timers(backend: Backend) -> None:
    """A commit's ``cancel_timers`` delete timers and its ``timers`` schedule new ones."""
    record = await start(backend, "a", timers=[timer("wf/a", "timeout", T0)])
    batch = await claim_one(backend)
    later = timer(record.id, "sleep", T0 + timedelta(hours=1))
    await backend.executions.commit(
        consume(batch, record, 1, cancel_timers=("timeout",), timers=(later,))
    )
    assert await backend.timers.claim_due("o1", T0, 10, LONG) == []
    assert await backend.timers.next_due() == later.due


async def test_next_due_is_earliest_unclaimed(backend: Backend) -> None:
    """``next_due`` skips claimed timers and is None without timers."""
    assert await backend.timers.next_due() is None
    soon = timer("wf/a", "soon", T0 + timedelta(seconds=1))
    later = timer("wf/a", "later", T0 + timedelta(seconds=2))
    await backend.timers.schedule([later, soon])
    assert await backend.timers.next_due() == soon.due
    await backend.timers.claim_due("o1", soon.due, 1, LONG)
    assert await backend.timers.next_due() == later.due


# --- tasks --------------------------------------------------------------------------------


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


async def test_tasks_claimed_in_dispatch_order(backend: Backend) -> None:
    """Attempts come in the order they were dispatched, ``limit`` at a time."""
    first, second, third = task("wf/x", 3), task("wf/x", 1), task("wf/x", 2)
    await dispatch(backend, first, second)
    await dispatch(backend, third)
    assert await backend.tasks.claim("w", T0, 2, LONG) == [first, second]
    assert await backend.tasks.claim("w", T0, 2, LONG) == [third]
    assert await backend.tasks.claim("w", T0, 2, LONG) == []


async def test_task_not_before_is_respected(backend: Backend) -> None:
    """An attempt with ``not_before`` is not claimed earlier and sets ``next_ready``."""
    delayed = task("wf/x", 1, not_before=T0 + timedelta(seconds=10))
    await dispatch(backend, delayed)
    assert await backend.tasks.claim("w", T0, 10, LONG) == []
    assert await backend.tasks.next_ready() == delayed.not_before
    assert await backend.tasks.claim("w", T0 + timedelta(seconds=10), 10, LONG) == [delayed]
    assert await backend.tasks.next_ready() is None


async def test_next_ready_of_immediate_task_is_not_after_now(backend: Backend) -> None:
    """An attempt without ``not_before`` is ready at once."""
    assert await backend.tasks.next_ready() is None
    await dispatch(backend, task("wf/x", 1))
    ready = await backend.tasks.next_ready()
    assert ready is not None
    assert ready <= T0


async def test_lapsed_task_claim_is_claimed_again(backend: Backend) -> None:
    """An attempt whose worker let its lease lapse goes to another worker."""
    attempt = task("wf/x", 1)
    await dispatch(backend, attempt)
    assert await backend.tasks.claim("w1", T0, 10, SHORT) == [attempt]
    assert await backend.tasks.claim("w2", T0, 10, LONG) == []
    await asyncio.sleep(LAPSE)
    assert await backend.tasks.claim("w2", T0, 10, LONG) == [attempt]


async def test_renew_extends_only_own_claims(backend: Backend) -> None:
    """``renew`` keeps the owner's attempt claimed; renewing another's claim does nothing."""
    mine, theirs = task("wf/x", 1), task("wf/x", 2)
    await dispatch(backend, mine, theirs)
    assert await backend.tasks.claim("w1", T0, 1, SHORT) == [mine]
    assert await backend.tasks.claim("w2", T0, 1, SHORT) == [theirs]
    await backend.tasks.renew("w1", [mine.token, theirs.token], LONG)
    await asyncio.sleep(LAPSE)
    assert await backend.tasks.claim("w3", T0, 10, LONG) == [theirs]


async def test_heartbeat_and_finish(backend: Backend) -> None:
    """Heartbeats are recorded for live attempts; a finished attempt is forgotten."""
    attempt = task("wf/x", 1)
    await dispatch(backend, attempt)
    await backend.tasks.claim("w", T0, 10, LONG)
    assert await backend.tasks.last_heartbeat(attempt.token) is None
    beat = T0 + timedelta(seconds=3)
    assert await backend.tasks.heartbeat(attempt.token, beat, {"progress": 1}) is True
    assert await backend.tasks.last_heartbeat(attempt.token) == beat
    assert await backend.tasks.pending() == 1
    await backend.tasks.finish(attempt.token)
    assert await backend.tasks.pending() == 0
    assert await backend.tasks.last_heartbeat(attempt.token) is None
    assert await backend.tasks.heartbeat(attempt.token, beat, None) is False
    await backend.tasks.finish(attempt.token)  # finishing twice is harmless


async def test_task_pending_and_next_ready_skip_claimed(backend: Backend) -> None:
    """``pending`` counts waiting and running attempts; ``next_ready`` only unclaimed ones."""
    running = task("wf/x", 1)
    waiting = task("wf/x", 2, not_before=T0 + timedelta(minutes=1))
    await dispatch(backend, running, waiting)
    await backend.tasks.claim("w", T0, 10, LONG)
    assert await backend.tasks.pending() == 2
    assert await backend.tasks.next_ready() == waiting.not_before


# --- published events ---------------------------------------------------------------------


async def test_published_events_drain_in_order_and_ack(backend: Backend) -> None:
    """Published events come oldest first with distinct ids until acknowledged."""
    events = [PublishedEvent(name=f"e{i}", payload={"i": i}) for i in range(3)]
    record, batch = await started_and_claimed(backend)
    await backend.executions.commit(consume(batch, record, 1, published=tuple(events[:2])))
    other, batch = await started_and_claimed(backend, "b")
    await backend.executions.commit(consume(batch, other, 1, published=(events[2],)))

    outbox = await backend.published(10)
    assert [event for _, event in outbox] == events
    assert len({id_ for id_, _ in outbox}) == 3
    assert await backend.published(2) == outbox[:2]
    await backend.ack_published([outbox[0][0], outbox[2][0], "wf/a|999", "junk"])
    assert await backend.published(10) == [outbox[1]]
    await backend.ack_published([outbox[1][0]])
    assert await backend.published(10) == []


# --- SQLite only ---------------------------------------------------------------------------


async def test_sqlite_data_survives_close_and_reopen(tmp_path: Path) -> None:
    """Everything written is there after the backend is closed and the file reopened."""
    path = tmp_path / "nested" / "dir" / "eventual.db"
    async with SqliteBackend(path) as first:
        record, batch = await started_and_claimed(first)
        later = timer(record.id, "t", T0)
        published = PublishedEvent(name="e", payload=[1])
        step = consume(
            batch,
            record,
            1,
            events=(SCHEDULED,),
            tasks=(task(record.id, 1),),
            timers=(later,),
            messages=(signal(record.id, "next"),),
            published=(published,),
        )
        await first.executions.commit(step)
    async with SqliteBackend(path) as second:
        assert await second.executions.get(record.id) == record
        assert await second.executions.history(record.id) == [started_of(record), SCHEDULED]
        assert message_ids(await claim_one(second)) == ["next"]
        assert await second.tasks.claim("w", T0, 10, LONG) == [task(record.id, 1)]
        assert await second.timers.claim_due("o", T0, 10, LONG) == [later]
        assert [event for _, event in await second.published(10)] == [published]


async def test_sqlite_uses_wal_and_refuses_newer_schema(tmp_path: Path) -> None:
    """A new file is in WAL mode at the current schema version; a newer one is refused."""
    path = tmp_path / "eventual.db"
    async with SqliteBackend(path):
        pass
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    backend = SqliteBackend(path)
    with pytest.raises(SchemaVersionError, match=r"schema version 99.*upgrade eventual-engine"):
        await backend.open()
    await backend.close()


async def test_sqlite_backends_opening_a_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    """Several backends creating the same new file at once all open it, schema made once."""
    path = tmp_path / "new" / "eventual.db"
    backends = [SqliteBackend(path) for _ in range(6)]
    try:
        await asyncio.gather(*(backend.open() for backend in backends))
        record = await start(backends[0], "a")
        assert await backends[5].executions.get(record.id) == record
    finally:
        await asyncio.gather(*(backend.close() for backend in backends))


async def test_sqlite_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    """Opening a file that is not SQLite names the file."""
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just some notes" * 100)
    backend = SqliteBackend(path)
    with pytest.raises(sqlite3.DatabaseError, match=r"notes\.txt"):
        await backend.open()
    await backend.close()


async def test_sqlite_rejects_bad_options_and_use_after_close(tmp_path: Path) -> None:
    """Invalid options fail at construction; a closed backend refuses further calls."""
    with pytest.raises(ValueError, match="synchronous"):
        SqliteBackend(tmp_path / "x.db", synchronous="OFF")  # type: ignore[arg-type]
    backend = await SqliteBackend(tmp_path / "x.db", synchronous="FULL").open()
    await start(backend, "a")
    await backend.close()
    await backend.close()
    with pytest.raises(DatabaseClosed):
        await backend.executions.get("wf/a")


async def test_sqlite_two_backends_on_one_file_never_share_claims(tmp_path: Path) -> None:
    """Two backend objects on one file (two connections) never claim the same work."""
    path = tmp_path / "shared.db"
    async with SqliteBackend(path) as one, SqliteBackend(path) as two:
        records = [make_record(f"e{i}") for i in range(60)]
        creates = [one.executions.create(r, started_of(r), []) for r in records]
        # Both create the same ids at once: each execution exists exactly once.
        creates += [two.executions.create(r, started_of(r), []) for r in records]
        await asyncio.gather(*creates)
        assert [len(await two.executions.history(r.id)) for r in records] == [1] * 60
        await one.timers.schedule([timer(r.id, r.id, T0) for r in records])
        dispatched = [task(r.id, 1) for r in records]
        await dispatch(one, *dispatched)

        async def hammer(backend: SqliteBackend, owner: str) -> tuple[list[str], ...]:
            batches, tasks, timers = await asyncio.gather(
                asyncio.gather(*(backend.queue.claim(owner, 3, LONG) for _ in range(25))),
                asyncio.gather(*(backend.tasks.claim(owner, T0, 3, LONG) for _ in range(25))),
                asyncio.gather(*(backend.timers.claim_due(owner, T0, 3, LONG) for _ in range(25))),
            )
            return (
                [b.execution_id for found in batches for b in found],
                [t.token for found in tasks for t in found],
                [t.id for found in timers for t in found],
            )

        mine, theirs = await asyncio.gather(hammer(one, "one"), hammer(two, "two"))
    for claimed_by_one, claimed_by_two, everything in zip(
        mine,
        theirs,
        ([r.id for r in records], [t.token for t in dispatched], [r.id for r in records]),
        strict=True,
    ):
        assert not set(claimed_by_one) & set(claimed_by_two)
        assert sorted(claimed_by_one + claimed_by_two) == sorted(everything)


# --- two processes ------------------------------------------------------------------------

EXECUTIONS = 20
MESSAGES_EACH = 10
# The spawned children import this module by its name, so the directory that name is
# relative to must be on their path.
_MODULE_ROOT = Path(__file__).resolve().parents[len(__name__.split(".")) - 1]


def _consume_in_process(path: str, owner: str, ready: Any, go: Any, finished: Any) -> None:
    """Process entry point: claim and commit batches until the parent says it is finished."""
    asyncio.run(_consume_loop(path, owner, ready, go, finished))


async def _consume_loop(path: str, owner: str, ready: Any, go: Any, finished: Any) -> None:
    async with SqliteBackend(path) as backend:
        ready.set()
        go.wait()
        while True:
            batches = await backend.queue.claim(owner, 2, LONG)
            if not batches:
                if finished.is_set() and await backend.queue.pending() == 0:
                    return
                await asyncio.sleep(0.002)
                continue
            for batch in batches:
                await _record_batch(backend, owner, batch)


async def _record_batch(backend: SqliteBackend, owner: str, batch: InboundBatch) -> None:
    """Commit a batch, writing into history which owner consumed which message."""
    record = await backend.executions.get(batch.execution_id)
    assert record is not None
    length = len(await backend.executions.history(batch.execution_id))
    events: tuple[HistoryEvent, ...] = tuple(
        SignalReceived(timestamp=T0, signal="consumed", payload=owner, id=m.id)
        for m in batch.messages
    )
    try:
        await backend.executions.commit(consume(batch, record, length, events=events))
    except Conflict:
        await backend.queue.release(batch)


async def _start_all(path: str) -> list[ExecutionRecord]:
    async with SqliteBackend(path) as backend:
        return [await start(backend, f"e{i}") for i in range(EXECUTIONS)]


async def _send_rounds(path: str, records: list[ExecutionRecord]) -> None:
    async with SqliteBackend(path) as backend:
        for round_ in range(MESSAGES_EACH):
            await backend.queue.enqueue([signal(r.id, f"{r.id}#{round_}") for r in records])
            await asyncio.sleep(0.01)


async def _consumed(path: str, records: list[ExecutionRecord]) -> list[SignalReceived]:
    async with SqliteBackend(path) as backend:
        found: list[SignalReceived] = []
        for record in records:
            for event in (await backend.executions.history(record.id))[1:]:
                assert isinstance(event, SignalReceived)
                found.append(event)
        return found


def test_sqlite_two_processes_consume_each_message_once(tmp_path: Path) -> None:
    """Two processes draining one file's queue consume every message exactly once."""
    parts = __name__.split(".")
    assert _MODULE_ROOT.joinpath(*parts).with_suffix(".py") == Path(__file__).resolve()
    path = str(tmp_path / "shared.db")
    records = asyncio.run(_start_all(path))
    context = multiprocessing.get_context("spawn")
    ready = [context.Event(), context.Event()]
    go, finished = context.Event(), context.Event()
    workers = [
        context.Process(target=_consume_in_process, args=(path, f"p{i}", ready[i], go, finished))
        for i in range(2)
    ]
    sys.path.insert(0, str(_MODULE_ROOT))
    try:
        for worker in workers:
            worker.start()
    finally:
        sys.path.remove(str(_MODULE_ROOT))
    try:
        assert all(event.wait(60) for event in ready), "the worker processes did not start"
        go.set()
        asyncio.run(_send_rounds(path, records))
        finished.set()
        for worker in workers:
            worker.join(timeout=60)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
                worker.join()
    assert [worker.exitcode for worker in workers] == [0, 0]
    events = asyncio.run(_consumed(path, records))
    consumed = Counter(event.id for event in events)
    expected = {f"{r.id}|start" for r in records}
    expected |= {f"{r.id}#{n}" for r in records for n in range(MESSAGES_EACH)}
    assert set(consumed) == expected
    assert set(consumed.values()) == {1}
    owners = {event.payload for event in events}
    assert owners == {"p0", "p1"}, "both processes should have taken part"


async def test_finish_queues_the_outcome_atomically(backend: Backend) -> None:
    """Finishing with an outcome queues it and forgets the attempt in one write."""
    record = await start(backend, "wf/x")
    attempt = task(record.id, 1)
    await dispatch(backend, attempt)
    await backend.tasks.claim("w", T0, 10, LONG)
    outcome = signal(record.id, f"{attempt.token}|done")
    await backend.tasks.finish(attempt.token, outcome)
    assert await backend.tasks.pending() == 0
    assert await backend.tasks.claim("w2", T0, 10, LONG) == []
    batch = await claim_one(backend)
    assert outcome.id in message_ids(batch)


async def test_tasks_committed_with_a_claim_are_held_by_its_owner(backend: Backend) -> None:
    """Tasks committed under ``task_claim`` are not claimable by anyone until the lease lapses."""
    attempt = task("wf/x", 1)
    await dispatch(backend, attempt, claim=Lease(owner="w1", duration=SHORT))
    assert await backend.tasks.claim("w2", T0, 10, LONG) == []
    assert await backend.tasks.pending() == 1
    assert await backend.tasks.next_ready() is None
    await asyncio.sleep(LAPSE)
    assert await backend.tasks.claim("w2", T0, 10, LONG) == [attempt]


async def test_tasks_committed_with_a_claim_can_be_renewed(backend: Backend) -> None:
    """The owner of an eagerly claimed task keeps it by renewing, like any claim."""
    attempt = task("wf/x", 1)
    await dispatch(backend, attempt, claim=Lease(owner="w1", duration=SHORT))
    await backend.tasks.renew("w1", [attempt.token], LONG)
    await asyncio.sleep(LAPSE)
    assert await backend.tasks.claim("w2", T0, 10, LONG) == []


async def test_finish_with_claim_returns_the_execution_batch(backend: Backend) -> None:
    """Finishing with ``claim`` may hand back the execution's queued messages, claimed."""
    record = await start(backend, "wf/x")
    first = await claim_one(backend)
    await backend.executions.commit(consume(first, record, 1))
    attempt = task(record.id, 1)
    await dispatch(backend, attempt)
    await backend.tasks.claim("w", T0, 10, LONG)
    outcome = signal(record.id, f"{attempt.token}|done")
    batch = await backend.tasks.finish(
        attempt.token, outcome, claim=Lease(owner="w", duration=LONG)
    )
    # Returning None is allowed by the protocol; the built-in backends claim.
    assert batch is not None
    assert message_ids(batch) == [outcome.id]
    assert await backend.queue.claim("other", 10, LONG) == []
    await backend.executions.commit(consume(batch, record, 1))
    assert await backend.queue.pending() == 0


async def test_finish_with_claim_leaves_a_held_execution_alone(backend: Backend) -> None:
    """When another owner holds the execution, the outcome is only queued."""
    record = await start(backend, "wf/x")
    held = await claim_one(backend, owner="orchestrator")
    attempt = task(record.id, 1)
    await dispatch(backend, attempt)
    await backend.tasks.claim("w", T0, 10, LONG)
    outcome = signal(record.id, f"{attempt.token}|done")
    claim = Lease(owner="w", duration=LONG)
    assert await backend.tasks.finish(attempt.token, outcome, claim=claim) is None
    await backend.queue.release(held)
    batch = await claim_one(backend)
    assert outcome.id in message_ids(batch)


async def test_finish_with_claim_of_an_ended_execution_returns_nothing(backend: Backend) -> None:
    """An outcome for an execution that has ended is not handed out."""
    record = await start(backend, "wf/x")
    first = await claim_one(backend)
    await backend.executions.commit(consume(first, done(record), 1))
    outcome = signal(record.id, "late|done")
    claim = Lease(owner="w", duration=LONG)
    assert await backend.tasks.finish("late", outcome, claim=claim) is None
    assert await backend.queue.claim("w", 10, LONG) == []


async def test_sqlite_read_only_reads_and_never_writes(tmp_path: Path) -> None:
    """A read-only backend reads a file (also while another writes it) and writes nothing."""
    path = tmp_path / "eventual.db"
    async with SqliteBackend(path) as writer:
        record = await start(writer, "a")
        async with SqliteBackend(path, read_only=True) as reader:
            assert await reader.executions.get(record.id) == record
            assert await reader.executions.history(record.id) == [started_of(record)]
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await reader.queue.claim("o", 10, LONG)
        assert message_ids(await claim_one(writer)) == [f"{record.id}|start"]
    size = path.stat().st_size
    async with SqliteBackend(path, read_only=True) as closed_reader:
        assert await closed_reader.executions.get(record.id) == record
    assert path.stat().st_size == size


async def test_sqlite_read_only_refuses_missing_empty_and_other_versions(tmp_path: Path) -> None:
    """Read-only never creates a file and names what is wrong with one it cannot read."""
    missing = tmp_path / "missing.db"
    with pytest.raises(FileNotFoundError, match="no such file"):
        await SqliteBackend(missing, read_only=True).open()
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(SchemaVersionError, match="not an eventual database"):
        await SqliteBackend(empty, read_only=True).open()
    newer = tmp_path / "newer.db"
    connection = sqlite3.connect(newer)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(SchemaVersionError, match="upgrade eventual-engine to read it"):
        await SqliteBackend(newer, read_only=True).open()
