"""One SQLite connection owned by one thread, fed by asyncio through a job queue.

Shared by the embedded backends (the engine's SQLite backend and the local event
bus), which differ only in their schema: each passes the function that prepares
the connection (``prepare``: create or migrate its tables, or check them).

Why a dedicated thread: ``sqlite3`` calls block (disk I/O, waiting for another
process's write lock), and must not stall the event loop. A ``sqlite3`` connection
may only be used by the thread that made it, so the thread owns it from
connect to close. ``run_in_executor`` on a one-thread pool would do the same, but
a plain queue lets the thread see every job waiting at once, which is what makes
group commit possible.

Why group commit: each transaction costs a lock round trip and, with
``synchronous=FULL``, an fsync. The thread takes every job already queued (up to
:data:`MAX_BATCH`) and runs them in one ``BEGIN IMMEDIATE`` transaction, each job
inside its own ``SAVEPOINT``: a job that raises (a ``Conflict``, bad data) is
rolled back alone and the others still commit. Callers are answered only after
``COMMIT`` returns, so a reported success is durable. Under load many commits share
one transaction; alone, a job runs in its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

__all__ = ["MAX_BATCH", "Database", "DatabaseClosed", "Prepare", "Synchronous"]

T = TypeVar("T")

Synchronous = Literal["NORMAL", "FULL"]

Prepare = Callable[[sqlite3.Connection, str], None]
"""Readies a fresh connection to the file (second argument, for messages)."""

MAX_BATCH: Final = 256
"""Most jobs in one transaction; bounds how long the write lock is held."""

_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


class _Job:
    __slots__ = ("fn", "future", "loop", "write")

    def __init__(
        self,
        fn: Callable[[sqlite3.Connection], Any],
        write: bool,
        future: asyncio.Future[Any],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.fn = fn
        self.write = write
        self.future = future
        self.loop = loop


class _Stop:
    __slots__ = ("future", "loop")

    def __init__(self, future: asyncio.Future[None], loop: asyncio.AbstractEventLoop) -> None:
        self.future = future
        self.loop = loop


class DatabaseClosed(RuntimeError):
    """The database was closed; create a new one to use the file again."""


class Database:
    """Runs functions of a connection on the connection's own thread.

    The thread starts on first use, connects, applies the pragmas (WAL, the
    ``synchronous`` level) and calls ``prepare``; if that fails every waiting call
    gets the error and the next call tries again. With ``read_only`` the file must
    exist and is opened with SQLite's ``mode=ro``: no pragma is set and every write
    fails, so ``prepare`` should only check the schema.
    """

    def __init__(
        self,
        path: str,
        *,
        busy_timeout: float,
        synchronous: Synchronous,
        prepare: Prepare,
        read_only: bool = False,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', got {synchronous!r}")
        if busy_timeout < 0:
            raise ValueError(f"busy_timeout must be >= 0 seconds, got {busy_timeout!r}")
        self.path = path
        self.read_only = read_only
        self._prepare = prepare
        self._busy_timeout = busy_timeout
        self._synchronous = synchronous
        self._jobs: queue.SimpleQueue[_Job | _Stop] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a read transaction (a consistent snapshot) and return its result."""
        return await self._submit(fn, write=False)

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` atomically in a ``BEGIN IMMEDIATE`` transaction; return once committed.

        If ``fn`` raises, nothing it wrote is kept and the exception is re-raised here.
        """
        return await self._submit(fn, write=True)

    async def _submit(self, fn: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._closed:
                raise DatabaseClosed(f"the SQLite database {self.path} is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name=f"eventual-sqlite {self.path}", daemon=True
                )
                self._thread.start()
            self._jobs.put(_Job(fn, write, future, loop))
        return await future

    async def close(self) -> None:
        """Finish queued jobs, close the connection and stop the thread (idempotent)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            if thread is None:
                return
            self._jobs.put(_Stop(future, loop))
        await future
        # The thread answers the stop as its last act, so this returns at once.
        thread.join()

    # --- the thread --------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:
            self._fail_waiting(exc)
            return
        try:
            stop = self._loop(conn)
        except BaseException as exc:
            conn.close()
            self._fail_waiting(exc)
            raise
        # Closing may checkpoint the WAL into the file: done before answering, so
        # that close() awaits it instead of blocking the event loop in join().
        conn.close()
        _deliver([(stop, None, None)])

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            return self._connect_read_only()
        if self.path != ":memory:" and not self.path.startswith("file:"):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves
            cached_statements=256,
            uri=self.path.startswith("file:"),
        )
        try:
            # The first statement is where a file that is not a database fails.
            self._use_wal(conn)
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("PRAGMA foreign_keys = OFF")
            # Temporary b-trees (sorts) never need to touch the disk.
            conn.execute("PRAGMA temp_store = MEMORY")
            self._prepare(conn, self.path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            # Same class (OperationalError for a lock timeout), with the file named.
            raise type(exc)(f"cannot open {self.path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect_read_only(self) -> sqlite3.Connection:
        # mode=ro: SQLite itself refuses every write, so reading a production copy
        # (``eventual replay --db``) can never change it, not even by migrating.
        path = Path(self.path)
        if not path.is_file():
            raise FileNotFoundError(f"cannot open {self.path} read-only: no such file")
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro",
            timeout=self._busy_timeout,
            isolation_level=None,
            uri=True,
        )
        try:
            self._prepare(conn, self.path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise type(exc)(f"cannot open {self.path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        # WAL mode is stored in the file, so this is a no-op after the first open. The
        # switch needs an exclusive lock and SQLite does not call the busy handler for
        # it: when several processes open a new file at once, retry until busy_timeout.
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL").fetchone()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.005)
            else:
                return

    def _fail_waiting(self, exc: BaseException) -> None:
        # Under the lock, so no job can be queued for this dead thread after the drain;
        # the next submit starts a fresh thread that tries to connect again.
        with self._lock:
            self._thread = None
            outcomes: list[tuple[_Job | _Stop, Any, BaseException | None]] = []
            while True:
                try:
                    item = self._jobs.get_nowait()
                except queue.Empty:
                    break
                outcomes.append((item, None, None if isinstance(item, _Stop) else exc))
        _deliver(outcomes)

    def _loop(self, conn: sqlite3.Connection) -> _Stop:
        """Run batches of jobs until a stop request, and return it."""
        jobs = self._jobs
        while True:
            first = jobs.get()
            if isinstance(first, _Stop):
                return first
            batch = [first]
            stop: _Stop | None = None
            while len(batch) < MAX_BATCH:
                try:
                    item = jobs.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Stop):
                    stop = item
                    break
                batch.append(item)
            try:
                outcomes = _run_batch(conn, batch)
            except Exception as exc:
                # A failed SAVEPOINT/ROLLBACK/COMMIT statement: report it rather than
                # leave callers waiting, and start the next batch from a clean state.
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                outcomes = [(job, None, exc) for job in batch]
            _deliver(outcomes)
            if stop is not None:
                return stop


def _run_batch(
    conn: sqlite3.Connection, batch: list[_Job]
) -> list[tuple[_Job, Any, BaseException | None]]:
    """Run jobs in one transaction, each in a savepoint; return what to tell each caller."""
    begin = "BEGIN IMMEDIATE" if any(job.write for job in batch) else "BEGIN"
    savepoints = len(batch) > 1
    done: list[tuple[_Job, Any, BaseException | None]] = []
    # Jobs that succeeded in the open transaction: their results stand only if it commits.
    uncommitted: list[tuple[_Job, Any]] = []
    for job in batch:
        if not conn.in_transaction:
            try:
                conn.execute(begin)
            except sqlite3.Error as exc:
                done.append((job, None, exc))
                continue
        if savepoints:
            conn.execute("SAVEPOINT job")
        try:
            result = job.fn(conn)
        except Exception as exc:
            if not conn.in_transaction:
                # SQLite rolled the whole transaction back (I/O error, disk full, ...),
                # taking the earlier jobs' writes with it: they failed too.
                done.extend((earlier, None, exc) for earlier, _ in uncommitted)
                uncommitted.clear()
            elif savepoints:
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
            else:
                conn.execute("ROLLBACK")
            done.append((job, None, exc))
            continue
        if savepoints:
            conn.execute("RELEASE job")
        uncommitted.append((job, result))
    if conn.in_transaction:
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            done.extend((job, None, exc) for job, _ in uncommitted)
            return done
    done.extend((job, result, None) for job, result in uncommitted)
    return done


def _deliver(outcomes: Sequence[tuple[_Job | _Stop, Any, BaseException | None]]) -> None:
    """Hand results to their event loops, one wake-up per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for item, result, exc in outcomes:
        by_loop.setdefault(item.loop, []).append((item.future, result, exc))
    for loop, settled in by_loop.items():
        # A closed loop raises RuntimeError: nobody is waiting there any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, settled)


def _settle(outcomes: list[_Outcome]) -> None:
    for future, result, exc in outcomes:
        if future.done():  # the caller was cancelled
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
