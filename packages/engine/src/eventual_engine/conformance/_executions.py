"""Checks of ``ExecutionStore``: creating, committing, child starts and listing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs

from eventual import ExecutionStatus
from eventual.history import ChildWorkflowFailed, PublishedEvent, WorkflowSucceeded
from eventual.spi import (
    Backend,
    Conflict,
    ExecutionFilter,
    InboundBatch,
    StepCommit,
    TaskRequest,
)

from .support import (
    LONG,
    SCHEDULED,
    T0,
    Timing,
    claim_one,
    consume,
    done,
    make_record,
    message_ids,
    raises_conflict,
    signal,
    start,
    started_and_claimed,
    started_of,
    task,
    timer,
)

__all__ = ["CHECKS"]


async def create_writes_started_history_and_queues_start(backend: Backend, timing: Timing) -> None:
    """A new execution has ``[WorkflowStarted]`` as history and its start message queued."""
    record = await start(backend, "a")
    assert await backend.executions.get(record.id) == record
    assert await backend.executions.history(record.id) == [started_of(record)]
    batch = await claim_one(backend)
    assert batch.execution_id == record.id
    assert [(m.id, m.event) for m in batch.messages] == [(f"{record.id}|start", started_of(record))]


async def create_existing_returns_stored_record_unchanged(backend: Backend, timing: Timing) -> None:
    """Creating an id that exists returns the stored record and writes nothing."""
    first = await start(backend, "a")
    other = make_record("a", digest="digest-2")
    due = timer(first.id, "t", T0)
    stored = await backend.executions.create(other, started_of(other), [due])
    assert stored == first
    assert await backend.executions.history(first.id) == [started_of(first)]
    assert await backend.queue.pending() == 1
    assert await backend.timers.next_due() is None


async def create_schedules_timers(backend: Backend, timing: Timing) -> None:
    """Timers given to ``create`` are scheduled with the new execution."""
    record = make_record("a")
    due = timer(record.id, "timeout", T0 + timedelta(hours=1))
    await backend.executions.create(record, started_of(record), [due])
    assert await backend.timers.next_due() == due.due


async def unknown_execution_has_no_record_or_history(backend: Backend, timing: Timing) -> None:
    """``get`` of an unknown id is None and its history is empty."""
    assert await backend.executions.get("wf/none") is None
    assert await backend.executions.history("wf/none") == []


async def commit_appends_events_and_updates_record(backend: Backend, timing: Timing) -> None:
    """A commit appends its events after the history and replaces the record."""
    record, batch = await started_and_claimed(backend)
    ended = done(record)
    finished = WorkflowSucceeded(timestamp=T0, result=1)
    await backend.executions.commit(consume(batch, ended, 1, events=(SCHEDULED, finished)))
    assert await backend.executions.history(record.id) == [started_of(record), SCHEDULED, finished]
    assert await backend.executions.get(record.id) == ended


async def commit_applies_every_outbox_part(backend: Backend, timing: Timing) -> None:
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


async def commit_without_lease_starts_unclaimed(backend: Backend, timing: Timing) -> None:
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


async def commit_conflict_on_wrong_length_writes_nothing(backend: Backend, timing: Timing) -> None:
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
    with raises_conflict():
        await backend.executions.commit(step)
    assert await backend.executions.history(record.id) == [started_of(record)]
    assert await backend.executions.get(record.id) == record
    assert await backend.executions.get(child.id) is None
    assert await backend.tasks.pending() == 0
    assert await backend.timers.next_due() is None
    assert await backend.published(10) == []
    await backend.queue.release(batch)
    assert message_ids(await claim_one(backend)) == [f"{record.id}|start"]


async def commit_conflict_on_foreign_lease(backend: Backend, timing: Timing) -> None:
    """A step presenting a lease that is not the current claim's is refused."""
    record, batch = await started_and_claimed(backend)
    forged = InboundBatch(execution_id=record.id, messages=batch.messages, lease="forged")
    with raises_conflict():
        await backend.executions.commit(consume(forged, record, 1, events=(SCHEDULED,)))
    assert await backend.executions.history(record.id) == [started_of(record)]
    await backend.executions.commit(consume(batch, record, 1, events=(SCHEDULED,)))
    assert len(await backend.executions.history(record.id)) == 2


async def commit_conflict_on_lost_lease(backend: Backend, timing: Timing) -> None:
    """Once a lapsed claim is taken over, the first owner's commit is refused."""
    record = await start(backend, "a")
    stale = await claim_one(backend, "o1", timing.short)
    await asyncio.sleep(timing.lapse)
    fresh = await claim_one(backend, "o2", LONG)
    with raises_conflict():
        await backend.executions.commit(consume(stale, record, 1, events=(SCHEDULED,)))
    assert await backend.executions.history(record.id) == [started_of(record)]
    assert await backend.tasks.pending() == 0
    await backend.executions.commit(consume(fresh, record, 1, events=(SCHEDULED,)))


async def commit_conflict_on_unknown_execution(backend: Backend, timing: Timing) -> None:
    """Committing to an execution that does not exist is a conflict."""
    record = make_record("ghost")
    step = StepCommit(execution_id=record.id, expected_length=0, lease=None, record=record)
    with raises_conflict():
        await backend.executions.commit(step)
    assert await backend.executions.get(record.id) is None


async def concurrent_commits_conflict_alone(backend: Backend, timing: Timing) -> None:
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


async def commit_ignores_known_task_token(backend: Backend, timing: Timing) -> None:
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


async def task_key_and_mac_are_kept(backend: Backend, timing: Timing) -> None:
    """An execution's task key, a child's and an attempt's mac read back as written."""
    record = attrs.evolve(make_record("keyed"), task_key="k" * 43)
    started = attrs.evolve(started_of(record), task_key=record.task_key)
    assert await backend.executions.create(record, started, ()) == record
    assert await backend.executions.get(record.id) == record
    assert await backend.executions.history(record.id) == [started]
    assert (await backend.executions.list(ExecutionFilter())).executions == (record,)
    batch = await claim_one(backend)
    child = attrs.evolve(make_record("child", parent_id=record.id), task_key="c" * 43)
    child_started = attrs.evolve(started_of(child, parent_seq=2), task_key=child.task_key)
    signed = attrs.evolve(task(record.id, 1), mac="m" * 22)
    step = consume(batch, record, 1, tasks=(signed,), starts=((child, child_started),))
    await backend.executions.commit(step)
    assert await backend.executions.get(child.id) == child
    assert await backend.executions.history(child.id) == [child_started]
    assert await backend.tasks.claim("w", T0, 10, LONG) == [signed]


async def child_start_clash_tells_parent(backend: Backend, timing: Timing) -> None:
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


async def child_start_with_same_input_is_a_repeat(backend: Backend, timing: Timing) -> None:
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


async def list_filters_and_pages_newest_first(backend: Backend, timing: Timing) -> None:
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


async def list_ignores_unknown_cursor(backend: Backend, timing: Timing) -> None:
    """A cursor naming no execution lists from the newest."""
    first = await start(backend, "1")
    second = await start(backend, "2")
    page = await backend.executions.list(ExecutionFilter(after="wf/none"))
    assert page.executions == (second, first)


async def history_reads_from_a_position(backend: Backend, timing: Timing) -> None:
    """history(id, after) returns only the events from that position on."""
    record, batch = await started_and_claimed(backend)
    finished = WorkflowSucceeded(timestamp=T0, result=1)
    await backend.executions.commit(consume(batch, done(record), 1, events=(SCHEDULED, finished)))
    assert await backend.executions.history(record.id, 1) == [SCHEDULED, finished]
    assert await backend.executions.history(record.id, 3) == []
    assert await backend.executions.history(record.id, 0) == [
        started_of(record),
        SCHEDULED,
        finished,
    ]


CHECKS = (
    create_writes_started_history_and_queues_start,
    create_existing_returns_stored_record_unchanged,
    create_schedules_timers,
    unknown_execution_has_no_record_or_history,
    commit_appends_events_and_updates_record,
    history_reads_from_a_position,
    commit_applies_every_outbox_part,
    commit_without_lease_starts_unclaimed,
    commit_conflict_on_wrong_length_writes_nothing,
    commit_conflict_on_foreign_lease,
    commit_conflict_on_lost_lease,
    commit_conflict_on_unknown_execution,
    concurrent_commits_conflict_alone,
    commit_ignores_known_task_token,
    task_key_and_mac_are_kept,
    child_start_clash_tells_parent,
    child_start_with_same_input_is_a_repeat,
    list_filters_and_pages_newest_first,
    list_ignores_unknown_cursor,
)
