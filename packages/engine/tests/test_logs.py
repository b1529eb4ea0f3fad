"""The workflow logger: silent on replay, tagged, kept per execution on every backend."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from eventual import Service, logger, signal, sleep, task, workflow
from eventual.spi import LogEntry
from eventual_engine import Engine, ManualClock, MemoryBackend
from eventual_engine._logs import log_store
from eventual_engine._sqlite import SqliteBackend
from eventual_engine._sqlite._schema import MIGRATIONS

from .conftest import START, EngineFactory

nudge = signal("nudge", str)


@task
async def weigh(parcel: str) -> int:
    logger.info("weighing %s", parcel)
    return len(parcel)


@workflow
async def ship(parcel: str) -> int:
    logger.info("shipping %s", parcel)
    grams = await weigh(parcel)
    logger.warning("%s weighs %d", parcel, grams)
    await sleep(timedelta(minutes=1))
    note = await nudge.expect()
    logger.info("nudged: %s", note)
    logger.debug("not kept: below INFO")
    return grams


SERVICE = Service.from_definitions("logs", [ship, weigh, nudge])


async def _kept(engine: Engine, execution_id: str, after: int = 0) -> list[LogEntry]:
    store = log_store(engine.backend)
    assert store is not None
    return await store.read_logs(execution_id, after)


async def _run(engine: Engine, clock: ManualClock) -> str:
    id_ = await engine.start_execution("ship", "box", "b1")
    await engine.run_until_idle()
    engine.orchestrator.clear()  # the next step replays the history first
    await engine.advance_to(clock.now() + timedelta(minutes=1))
    await engine.send_signal(id_, "nudge", "hurry")
    await engine.run_until_idle()
    return id_


async def test_lines_are_kept_once_with_their_tags(
    any_engine_factory: EngineFactory, clock: ManualClock
) -> None:
    """Workflow and task lines are kept in order, tagged, once each despite a replay."""
    engine = any_engine_factory(SERVICE)
    id_ = await _run(engine, clock)
    assert await engine.execution_result(id_) == 3
    kept = await _kept(engine, id_)
    assert [(e.level, e.message, e.seq, e.task, e.attempt) for e in kept] == [
        ("INFO", "shipping box", 0, None, None),
        ("INFO", "weighing box", 1, "weigh", 1),
        ("WARNING", "box weighs 3", 1, None, None),
        ("INFO", "nudged: hurry", 2, None, None),
    ]
    assert [e.position for e in kept] == sorted({e.position for e in kept})
    assert [e.message for e in await _kept(engine, id_, after=kept[1].position)] == [
        "box weighs 3",
        "nudged: hurry",
    ]
    assert kept[3].time == START + timedelta(minutes=1)


async def test_replayed_code_logs_nothing(
    engine_factory: EngineFactory, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Handlers see each line once, with execution_id and seq, though the steps replayed."""
    engine = engine_factory(SERVICE)
    with caplog.at_level(logging.INFO, logger="eventual.workflow"):
        id_ = await _run(engine, clock)
    records = [r for r in caplog.records if r.name == "eventual.workflow"]
    assert [r.getMessage() for r in records] == [
        "shipping box",
        "weighing box",
        "box weighs 3",
        "nudged: hurry",
    ]
    assert {getattr(r, "execution_id", None) for r in records} == {id_}
    assert [getattr(r, "seq", None) for r in records] == [0, 1, 1, 2]
    assert getattr(records[1], "task", None) == "weigh"
    assert records[0].filename == "test_logs.py"  # the caller's line, not the adapter's


def test_logging_outside_any_execution_is_plain_logging(caplog: pytest.LogCaptureFixture) -> None:
    """Outside workflows and tasks the logger logs like any logger, without tags."""
    with caplog.at_level(logging.INFO, logger="eventual.workflow"):
        logger.info("hello %s", "there")
    (record,) = caplog.records
    assert record.getMessage() == "hello there"
    assert not hasattr(record, "execution_id")


async def test_a_backend_without_a_log_store_keeps_running(clock: ManualClock) -> None:
    """A backend that has no ``logs`` runs the workflow the same, keeping no lines."""

    class Plain(MemoryBackend):
        logs = None  # type: ignore[assignment]  # a backend from before logs existed

    engine = Engine(SERVICE, Plain(), clock=clock)
    id_ = await _run(engine, clock)
    assert await engine.execution_result(id_) == 3
    assert log_store(engine.backend) is None


async def test_a_version_1_database_gains_the_logs_table(tmp_path: Path) -> None:
    """A file written before logs existed is migrated when opened, its data kept."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
    conn.close()
    async with SqliteBackend(path) as backend:
        entry = LogEntry(
            execution_id="w/1", key="0|workflow|0", time=START, level="INFO", message="m", seq=0
        )
        await backend.logs.append_logs([entry, entry])
        assert [e.message for e in await backend.logs.read_logs("w/1")] == ["m"]


async def test_a_line_with_a_bad_format_is_kept_as_given(
    engine_factory: EngineFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A message whose arguments do not fit its format is kept with them, not lost."""

    @workflow(name="bad_format")
    async def bad_format(_: None) -> None:
        logger.info("%d items", "many")

    engine = engine_factory(Service.from_definitions("bad", [bad_format]))
    with caplog.at_level(logging.CRITICAL, logger="eventual.workflow"):
        id_ = await engine.start_execution("bad_format", None, "b")
        await engine.run_until_idle()
    assert [e.message for e in await _kept(engine, id_)] == ["%d items ('many',)"]
