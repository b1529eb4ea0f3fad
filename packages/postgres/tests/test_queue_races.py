"""Races the contract suite cannot stage: processes claiming and queueing at the same moment."""

from __future__ import annotations

import asyncio

from eventual_engine.conformance._support import LONG, consume, signal, start
from eventual_postgres import PostgresBackend


async def test_a_message_queued_while_a_claim_empties_the_line_is_still_claimed(
    backend: PostgresBackend,
) -> None:
    """A signal queued while another worker's claim finds the execution idle is never stranded."""
    for round_ in range(40):
        record = await start(backend, f"r{round_}")
        [batch] = await backend.queue.claim("w", 1, LONG)
        await backend.executions.commit(consume(batch, record, 1))
        # The execution is idle: its place in line is stale. One worker claims (and
        # finds nothing) while another process queues a signal for it.
        claimed, _ = await asyncio.gather(
            backend.queue.claim("w", 10, LONG), backend.queue.enqueue([signal(record.id, "s")])
        )
        for taken in claimed:
            await backend.queue.release(taken)
        [again] = await backend.queue.claim("w", 10, LONG)
        assert [m.id for m in again.messages] == ["s"], round_
        await backend.executions.commit(consume(again, record, 1))
