"""The backend contract on every built-in backend, plus SQLite-only properties.

The contract is ``eventual_engine.conformance``: each of its checks runs once on
``MemoryBackend`` and once on ``SqliteBackend``. The in-memory backend is the
reference, so the two must agree on everything a caller can observe.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from eventual.history import ExecutionRecord, HistoryEvent, PublishedEvent, SignalReceived
from eventual.spi import Backend, Conflict, InboundBatch
from eventual_engine._memory import MemoryBackend
from eventual_engine._sqlite import (
    SCHEMA_VERSION,
    DatabaseClosed,
    SchemaVersionError,
    SqliteBackend,
)
from eventual_engine.conformance import CHECKS, BackendCheck, Timing
from eventual_engine.conformance.support import (
    LONG,
    SCHEDULED,
    T0,
    claim_one,
    consume,
    dispatch,
    make_record,
    message_ids,
    signal,
    start,
    started_and_claimed,
    started_of,
    task,
    timer,
)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_backend_contract(kind: str, check: BackendCheck, tmp_path: Path) -> None:
    """Each built-in backend, fresh and empty, keeps every promise of the backend contract."""
    backend: Backend
    if kind == "memory":
        backend = MemoryBackend()
    else:
        backend = await SqliteBackend(tmp_path / "eventual.db").open()
    try:
        await check(backend, Timing())
    finally:
        await backend.close()


def test_contract_has_every_check() -> None:
    """The contract holds all 56 checks, each named once and documented."""
    names = [check.__name__ for check in CHECKS]
    assert len(names) == len(set(names)) == 56
    assert all(check.__doc__ for check in CHECKS)


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
