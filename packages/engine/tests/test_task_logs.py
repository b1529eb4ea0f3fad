"""A task's log lines are stored while it runs, in batches, in the order logged."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from eventual import Service, logger, task, workflow
from eventual.spi import LogEntry, LogStore
from eventual_engine import Engine
from eventual_engine._logs import MemoryLogs, log_store
from eventual_engine._task_logs import LiveLogs

from .conftest import START, EngineFactory

_gates: dict[str, asyncio.Event] = {}  # a new one per test: an Event binds to its loop
_thread_gate = threading.Event()


@task
async def crunch(rows: int) -> int:
    logger.info("crunching %d rows", rows)
    await _gates["async"].wait()  # a long stretch of work
    logger.info("crunched")
    return rows


@task
def crunch_in_a_thread(rows: int) -> int:
    logger.info("crunching %d rows in a thread", rows)
    assert _thread_gate.wait(timeout=30), "the test never opened the gate"
    logger.info("crunched in a thread")
    return rows


@task
async def chatter(lines: int) -> int:
    for n in range(lines):
        logger.info("line %d", n)
    return lines


@workflow
async def report(rows: int) -> int:
    return await crunch(rows) + await crunch_in_a_thread(rows) + await chatter(rows)


@workflow
async def chat(lines: int) -> int:
    return await chatter(lines)


SERVICE = Service.from_definitions("task_logs", [report, chat, crunch, crunch_in_a_thread, chatter])


class _Watched:
    """Counts the writes to an engine's log store and announces each."""

    def __init__(self, engine: Engine) -> None:
        store = log_store(engine.backend)
        assert store is not None
        self.store: LogStore = store
        self.writes: list[int] = []
        self.written = asyncio.Event()
        append = store.append_logs

        async def counted(entries: Sequence[LogEntry]) -> None:
            await append(entries)
            self.writes.append(len(entries))
            self.written.set()

        store.append_logs = counted  # type: ignore[method-assign]  # observing the writes

    async def messages(self, execution_id: str) -> list[str]:
        return [e.message for e in await self.store.read_logs(execution_id)]

    async def wait_for(self, execution_id: str, message: str) -> None:
        while message not in await self.messages(execution_id):
            self.written.clear()
            await asyncio.wait_for(self.written.wait(), timeout=30)


async def test_a_running_task_shows_its_lines_before_it_ends(
    any_engine_factory: EngineFactory,
) -> None:
    """Lines of an async and of a threaded task body are readable while the body still works."""
    _gates["async"] = asyncio.Event()
    _thread_gate.clear()
    engine = any_engine_factory(SERVICE)
    watched = _Watched(engine)
    id_ = await engine.start_execution("report", 3, "r")
    running = asyncio.create_task(engine.run_until_idle())
    await watched.wait_for(id_, "crunching 3 rows")
    assert not running.done()
    assert await watched.messages(id_) == ["crunching 3 rows"]
    _gates["async"].set()
    await watched.wait_for(id_, "crunching 3 rows in a thread")
    assert not running.done()
    assert "crunched in a thread" not in await watched.messages(id_)
    _thread_gate.set()
    await asyncio.wait_for(running, timeout=30)
    assert await engine.execution_result(id_) == 9
    assert await watched.messages(id_) == [
        "crunching 3 rows",
        "crunched",
        "crunching 3 rows in a thread",
        "crunched in a thread",
        "line 0",
        "line 1",
        "line 2",
    ]


async def test_a_burst_of_lines_is_one_write(engine_factory: EngineFactory) -> None:
    """A body logging many lines without awaiting costs one write, not one per line."""
    engine = engine_factory(SERVICE)
    watched = _Watched(engine)
    id_ = await engine.start_execution("chat", 200, "c")
    await engine.run_until_idle()
    assert await watched.messages(id_) == [f"line {n}" for n in range(200)]
    assert watched.writes == [200]


def test_a_line_logged_after_the_worker_stopped_does_not_fail_the_body() -> None:
    """A threaded body still logging once its worker's loop has closed logs without error."""
    loop = asyncio.new_event_loop()
    loop.close()
    lines = LiveLogs(MemoryLogs(), loop)
    lines.add(
        LogEntry(execution_id="w/1", key="1|1|0", time=START, level="INFO", message="m", seq=1)
    )
