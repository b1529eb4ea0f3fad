"""The DynamoDB log store: a follower never skips a batch that is still being written."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from eventual.spi import LogEntry
from eventual_aws._backend import AwsBackend
from eventual_aws._backend._logs import ABANDONED_AFTER, DynamoLogs
from eventual_aws._backend._table import Table

EXECUTION = "ship/o1"


def _line(key: str, message: str) -> LogEntry:
    return LogEntry(
        execution_id=EXECUTION,
        key=key,
        seq=1,
        level="INFO",
        message=message,
        time=datetime(2026, 1, 1, tzinfo=UTC),
    )


class _Clock:
    """Seconds since the epoch, moved on by the test only."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class _HeldTable(Table):
    """The backend's table, whose batch writes wait until the test lets them through."""

    def __init__(self, table: Table) -> None:
        super().__init__(table.clients, table.name)
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def batch_write(self, requests: Sequence[Mapping[str, Any]]) -> None:
        self.reached.set()
        await self.release.wait()
        await super().batch_write(requests)


async def _messages(logs: DynamoLogs, after: int = 0) -> list[tuple[int, str]]:
    return [(e.position, e.message) for e in await logs.read_logs(EXECUTION, after)]


async def test_a_batch_between_its_positions_and_its_lines_is_waited_for(
    backend: AwsBackend,
) -> None:
    """Lines stored after a batch that took its positions wait until that batch's lines are in."""
    clock = _Clock()
    table = backend._store.table
    logs = DynamoLogs(table, clock=clock)
    held = _HeldTable(table)
    slow = DynamoLogs(held, clock=clock)
    await logs.append_logs([_line("1|workflow|0", "a1"), _line("1|1|0", "a2")])
    writing = asyncio.ensure_future(slow.append_logs([_line("2|1|0", "b3"), _line("2|2|0", "b4")]))
    await held.reached.wait()  # positions 3 and 4 are taken, their lines not written
    await logs.append_logs([_line("3|workflow|0", "c5")])

    assert await _messages(logs) == [(1, "a1"), (2, "a2")]
    assert await _messages(logs, after=2) == []
    held.release.set()
    await writing
    assert await _messages(logs, after=2) == [(3, "b3"), (4, "b4"), (5, "c5")]


async def test_a_gap_left_for_good_is_read_past_once_it_is_old(backend: AwsBackend) -> None:
    """Positions a crashed writer took and never filled hold followers back only for a while."""
    clock = _Clock()
    table = backend._store.table
    logs = DynamoLogs(table, clock=clock)
    held = _HeldTable(table)
    crashed = DynamoLogs(held, clock=clock)
    await logs.append_logs([_line("1|workflow|0", "a1")])
    lost = asyncio.ensure_future(crashed.append_logs([_line("2|1|0", "lost")]))
    await held.reached.wait()
    lost.cancel()  # it took position 2 and will never write it
    await logs.append_logs([_line("3|workflow|0", "c3"), _line("3|1|0", "c4")])

    clock.now += ABANDONED_AFTER - 1
    assert await _messages(logs, after=1) == []
    clock.now += 2
    assert await _messages(logs, after=1) == [(3, "c3"), (4, "c4")]
    assert await _messages(logs) == [(1, "a1"), (3, "c3"), (4, "c4")]
