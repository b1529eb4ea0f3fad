"""``eventual.sqlite``: the shared connection thread (group commit, close, errors) and settings."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import cast

import pytest

from eventual import EventualError
from eventual.plugins import EventualConfig
from eventual.sqlite import (
    DEFAULT_DB,
    Database,
    DatabaseClosed,
    Synchronous,
    database_path,
    synchronous_level,
    synchronous_setting,
)


def _schema(conn: sqlite3.Connection, path: str) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS item (name TEXT PRIMARY KEY)")


class Trace:
    """Prepares the schema and records every statement the connection runs after that."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: sqlite3.Connection, path: str) -> None:
        _schema(conn, path)
        conn.set_trace_callback(self.statements.append)

    def count(self, statement: str) -> int:
        return sum(1 for s in self.statements if s == statement)


def _insert(name: str) -> Callable[[sqlite3.Connection], str]:
    def job(conn: sqlite3.Connection) -> str:
        conn.execute("INSERT INTO item (name) VALUES (?)", (name,))
        return name

    return job


def _names(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT name FROM item ORDER BY name")]


def _database(
    path: Path,
    prepare: Callable[[sqlite3.Connection, str], None] = _schema,
    *,
    synchronous: Synchronous = "NORMAL",
    read_only: bool = False,
) -> Database:
    return Database(
        str(path), busy_timeout=1.0, synchronous=synchronous, prepare=prepare, read_only=read_only
    )


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A database on a fresh file, closed after the test."""
    database = _database(tmp_path / "state" / "test.db")
    yield database
    await database.close()


async def _hold_thread(db: Database) -> tuple[asyncio.Task[None], threading.Event]:
    """Occupy the connection thread with a job until the returned event is set."""
    started, gate = threading.Event(), threading.Event()

    def wait(conn: sqlite3.Connection) -> None:
        started.set()
        gate.wait(5)

    holder = asyncio.create_task(db.write(wait))
    await asyncio.to_thread(started.wait, 5)
    return holder, gate


async def test_writes_are_committed_and_read_back(db: Database) -> None:
    """A committed write is visible to a later read, and write returns the job's result."""
    assert await db.write(_insert("a")) == "a"
    assert await db.read(_names) == ["a"]


async def test_jobs_queued_together_commit_in_one_transaction(tmp_path: Path) -> None:
    """Writes that queue up while the thread is busy share one BEGIN IMMEDIATE and COMMIT."""
    trace = Trace()
    db = _database(tmp_path / "group.db", trace)
    try:
        holder, gate = await _hold_thread(db)
        writes = [asyncio.create_task(db.write(_insert(f"n{i}"))) for i in range(5)]
        await asyncio.sleep(0)  # let every write queue its job
        gate.set()
        await holder
        assert await asyncio.gather(*writes) == [f"n{i}" for i in range(5)]
        assert await db.read(_names) == [f"n{i}" for i in range(5)]
    finally:
        await db.close()
    # One transaction for the holder, one for the five writes (each in a savepoint).
    assert trace.count("BEGIN IMMEDIATE") == 2
    assert trace.count("SAVEPOINT job") == 5


async def test_a_failing_job_is_rolled_back_alone(db: Database) -> None:
    """In a shared transaction, a job that raises loses its writes; the others commit."""

    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO item (name) VALUES ('lost')")
        raise ValueError("bad data")

    holder, gate = await _hold_thread(db)
    first = asyncio.create_task(db.write(_insert("kept-1")))
    failing = asyncio.create_task(db.write(half_then_fail))
    last = asyncio.create_task(db.write(_insert("kept-2")))
    await asyncio.sleep(0)
    gate.set()
    await holder
    assert await first == "kept-1"
    with pytest.raises(ValueError, match="bad data"):
        await failing
    assert await last == "kept-2"
    assert await db.read(_names) == ["kept-1", "kept-2"]


async def test_a_constraint_violation_fails_only_its_job(db: Database) -> None:
    """A duplicate key raises IntegrityError to its caller and leaves earlier rows in place."""
    await db.write(_insert("a"))
    with pytest.raises(sqlite3.IntegrityError):
        await db.write(_insert("a"))
    assert await db.write(_insert("b")) == "b"
    assert await db.read(_names) == ["a", "b"]


async def test_a_lone_failing_job_writes_nothing(db: Database) -> None:
    """A job alone in its transaction that raises is rolled back entirely."""

    def two_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO item (name) VALUES ('x')")
        conn.execute("INSERT INTO item (name) VALUES ('y')")
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        await db.write(two_then_fail)
    assert await db.read(_names) == []


async def test_the_file_is_in_wal_mode_and_its_folder_created(tmp_path: Path) -> None:
    """Opening creates the missing folder and switches the file to write-ahead logging."""
    path = tmp_path / "new" / "folder" / "wal.db"
    db = _database(path)
    try:
        await db.write(_insert("a"))
        mode = await db.read(lambda conn: conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        await db.close()
    assert mode == "wal"
    assert path.is_file()
    with contextlib.closing(sqlite3.connect(path)) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert [r[0] for r in other.execute("SELECT name FROM item")] == ["a"]


@pytest.mark.parametrize(("level", "value"), [("NORMAL", 1), ("FULL", 2)])
async def test_the_synchronous_level_is_applied(
    tmp_path: Path, level: Synchronous, value: int
) -> None:
    """The connection runs with the synchronous level it was given."""
    db = _database(tmp_path / "sync.db", synchronous=level)
    try:
        read = await db.read(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0])
    finally:
        await db.close()
    assert read == value


async def test_close_finishes_queued_jobs_then_refuses_new_ones(db: Database) -> None:
    """Jobs queued before close still commit; later calls raise DatabaseClosed."""
    holder, gate = await _hold_thread(db)
    queued = asyncio.create_task(db.write(_insert("queued")))
    await asyncio.sleep(0)
    closing = asyncio.create_task(db.close())
    await asyncio.sleep(0)
    gate.set()
    await holder
    assert await queued == "queued"
    await closing
    with pytest.raises(DatabaseClosed, match="is closed"):
        await db.read(_names)
    await db.close()  # idempotent


async def test_close_before_first_use_starts_no_thread(tmp_path: Path) -> None:
    """A database closed before any call never creates its file."""
    path = tmp_path / "unused.db"
    db = _database(path)
    await db.close()
    with pytest.raises(DatabaseClosed):
        await db.write(_insert("a"))
    assert not path.exists()


async def test_a_failing_prepare_fails_the_call_and_the_next_call_retries(tmp_path: Path) -> None:
    """If preparing the connection fails, the caller gets the error and a later call reconnects."""
    attempts: list[int] = []

    def flaky(conn: sqlite3.Connection, path: str) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("schema check failed")
        _schema(conn, path)

    db = _database(tmp_path / "flaky.db", flaky)
    try:
        with pytest.raises(RuntimeError, match="schema check failed"):
            await db.read(_names)
        assert await db.write(_insert("a")) == "a"
    finally:
        await db.close()
    assert len(attempts) == 2


async def test_a_file_that_is_not_a_database_is_named_in_the_error(tmp_path: Path) -> None:
    """Opening a file that is not SQLite raises DatabaseError naming the file."""
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are not the bytes of a database" * 100)
    db = _database(path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match=r"cannot open .*notes\.txt"):
            await db.read(_names)
    finally:
        await db.close()


async def test_read_only_refuses_writes_and_missing_files(tmp_path: Path) -> None:
    """A read-only database reads an existing file, refuses writes and needs the file to exist."""
    path = tmp_path / "ro.db"
    writer = _database(path)
    await writer.write(_insert("a"))
    await writer.close()
    reader = _database(path, read_only=True)
    try:
        assert await reader.read(_names) == ["a"]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await reader.write(_insert("b"))
    finally:
        await reader.close()
    missing = _database(tmp_path / "missing.db", read_only=True)
    try:
        with pytest.raises(FileNotFoundError, match="no such file"):
            await missing.read(_names)
    finally:
        await missing.close()
    assert not (tmp_path / "missing.db").exists()


def test_invalid_settings_are_refused() -> None:
    """An unknown synchronous level or a negative busy timeout raises ValueError at once."""
    with pytest.raises(ValueError, match="synchronous must be 'NORMAL' or 'FULL'"):
        Database("x.db", busy_timeout=1.0, synchronous=cast(Synchronous, "OFF"), prepare=_schema)
    with pytest.raises(ValueError, match="busy_timeout must be >= 0"):
        Database("x.db", busy_timeout=-1.0, synchronous="NORMAL", prepare=_schema)


async def test_two_databases_on_one_file_see_each_others_commits(tmp_path: Path) -> None:
    """Two connection threads on one file (as two processes would be) share committed rows."""
    path = tmp_path / "shared.db"
    one, two = _database(path), _database(path)
    try:
        await one.write(_insert("from-one"))
        await two.write(_insert("from-two"))
        assert await one.read(_names) == ["from-one", "from-two"]
        assert await two.read(_names) == ["from-one", "from-two"]
    finally:
        await one.close()
        await two.close()


# --- the shared settings -----------------------------------------------------------------


def test_the_default_file_is_under_the_project_folder(tmp_path: Path) -> None:
    """Without a db setting the file is .eventual/local.db beside the pyproject.toml."""
    config = EventualConfig(config_file=tmp_path / "pyproject.toml")
    assert database_path(config) == tmp_path / ".eventual" / "local.db"
    assert database_path(EventualConfig()) == DEFAULT_DB == Path(".eventual") / "local.db"


def test_a_relative_db_is_read_from_the_project_folder(tmp_path: Path) -> None:
    """A relative db is taken from the pyproject.toml's folder; an absolute one is kept."""
    project = tmp_path / "pyproject.toml"
    assert database_path(EventualConfig(db="state/x.db", config_file=project)) == (
        tmp_path / "state" / "x.db"
    )
    elsewhere = tmp_path / "elsewhere.db"
    assert database_path(EventualConfig(db=str(elsewhere), config_file=project)) == elsewhere
    assert database_path(EventualConfig(db="x.db")) == Path("x.db")


@pytest.mark.parametrize(
    ("options", "level"),
    [
        ({}, "NORMAL"),
        ({"sqlite_synchronous": "full"}, "FULL"),
        ({"sqlite_synchronous": "Normal"}, "NORMAL"),
    ],
)
def test_the_synchronous_setting_is_read_in_any_case(
    options: dict[str, object], level: Synchronous
) -> None:
    """sqlite_synchronous defaults to NORMAL and accepts NORMAL or FULL in any case."""
    assert synchronous_setting(EventualConfig(options=options)) == level
    assert synchronous_level(level.lower()) == level


def test_another_synchronous_level_is_refused_by_name() -> None:
    """Another level raises EventualError naming the setting, or ValueError from the parser."""
    with pytest.raises(EventualError, match="sqlite_synchronous must be NORMAL or FULL, got 'OFF'"):
        synchronous_setting(EventualConfig(options={"sqlite_synchronous": "off"}))
    with pytest.raises(ValueError, match="synchronous must be 'NORMAL' or 'FULL', got 'EXTRA'"):
        synchronous_level("extra")
