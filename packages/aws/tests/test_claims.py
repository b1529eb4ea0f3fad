"""Claims by key: what a function woken by a doorbell takes, and only when it is its turn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventual.spi import InboundMessage
from eventual_aws._backend import AwsBackend
from eventual_aws._backend._store import Store
from eventual_engine.conformance.support import (
    LONG,
    T0,
    consume,
    dispatch,
    signal,
    start,
    task,
    timer,
)


async def test_an_execution_is_claimed_by_id_once(backend: AwsBackend) -> None:
    """The execution a workflow-queue message names is claimed with its messages, by one owner."""
    record = await start(backend, "a")
    await backend.queue.enqueue([signal(record.id, "s1")])
    batch = await backend.queue.claim_execution(record.id, "f1", LONG)
    assert batch is not None
    assert [m.id for m in batch.messages] == [f"{record.id}|start", "s1"]
    assert await backend.queue.claim_execution(record.id, "f2", LONG) is None
    assert await backend.queue.claim_execution("wf/ghost", "f2", LONG) is None


async def test_a_doorbell_for_nothing_leaves_the_inbox(backend: AwsBackend) -> None:
    """A duplicate workflow-queue message finds nothing and takes the execution out of the inbox."""
    record = await start(backend, "a")
    first = await backend.queue.claim_execution(record.id, "f1", LONG)
    assert first is not None
    await backend.executions.commit(consume(first, record, 1))
    assert await backend.queue.claim_execution(record.id, "f2", LONG) is None
    assert await backend.queue.claim("o", 10, LONG) == []


async def test_a_message_arriving_during_an_empty_claim_is_taken(
    backend: AwsBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim that found nothing but saw a message arrive takes it, rather than holding on."""
    record = await start(backend, "a")
    first = await backend.queue.claim_execution(record.id, "f1", LONG)
    assert first is not None
    await backend.executions.commit(consume(first, record, 1))
    read = Store.messages
    arrived: list[str] = []

    async def messages_then_arrival(store: Store, execution_id: str) -> list[InboundMessage]:
        found = await read(store, execution_id)
        if not arrived:  # the signal lands between the read and the leaving of the inbox
            arrived.append("s1")
            await backend.queue.enqueue([signal(record.id, "s1")])
        return found

    monkeypatch.setattr(Store, "messages", messages_then_arrival)
    batch = await backend.queue.claim_execution(record.id, "f2", LONG)
    assert batch is not None
    assert [m.id for m in batch.messages] == ["s1"]


async def test_a_task_is_claimed_by_token_when_ready(backend: AwsBackend) -> None:
    """The attempt a task-queue message names is claimed once, and not before its back-off."""
    ready, later = task("wf/x", 1), task("wf/x", 2, not_before=T0 + timedelta(minutes=5))
    await dispatch(backend, ready, later)
    assert await backend.tasks.claim_token(ready.token, "f1", T0, LONG) == ready
    assert await backend.tasks.claim_token(ready.token, "f2", T0, LONG) is None
    assert await backend.tasks.claim_token(later.token, "f1", T0, LONG) is None
    moved = T0 + timedelta(minutes=5)
    assert await backend.tasks.claim_token(later.token, "f1", moved, LONG) == later


async def test_a_timer_is_claimed_by_id_when_due(backend: AwsBackend) -> None:
    """The timer a timer-queue message names is claimed once it is due, by one owner."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    due = timer("wf/a", "t", now + timedelta(minutes=1))
    await backend.timers.schedule([due])
    assert await backend.timers.claim("t", "f1", now, LONG) is None
    assert await backend.timers.claim("t", "f1", due.due, LONG) == due
    assert await backend.timers.claim("t", "f2", due.due, LONG) is None
    assert await backend.timers.claim("unknown", "f2", due.due, LONG) is None
