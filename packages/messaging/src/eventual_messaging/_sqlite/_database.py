"""One SQLite connection owned by one thread, fed by asyncio through a job queue.

The same design as the engine's SQLite backend (which this package may not
import): ``sqlite3`` calls block, so they run on a dedicated thread that owns the
connection; jobs already queued when the thread looks are run in one
``BEGIN IMMEDIATE`` transaction, each in its own ``SAVEPOINT`` (group commit), and
callers are answered only after ``COMMIT``, so a reported success is durable.
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
from typing import Any, Final, TypeVar

from ._schema import migrate

__all__ = ["Database", "DatabaseClosed"]

T = TypeVar("T")

MAX_BATCH: Final = 128
"""Most jobs in one transaction; bounds how long the write lock is held."""


class DatabaseClosed(RuntimeError):
    """The bus was closed; create a new one to use the file again."""


class _Job:
    __slots__ = ("fn", "future", "loop", "write")

    def __init__(
        self,
        fn: Callable[[sqlite3.Connection], Any] | None,
        write: bool,
        future: asyncio.Future[Any],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.fn = fn  # None asks the thread to stop
        self.write = write
        self.future = future
        self.loop = loop


class Database:
    """Runs functions of a connection on the connection's own thread."""

    def __init__(self, path: str, *, busy_timeout: float, synchronous: str) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._synchronous = synchronous
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a read transaction and return its result."""
        return await self._submit(fn, write=False)

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` atomically in a write transaction; return once committed."""
        return await self._submit(fn, write=True)

    async def _submit(self, fn: Callable[[sqlite3.Connection], T] | None, *, write: bool) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._closed and fn is not None:
                raise DatabaseClosed(f"the SQLite event bus on {self.path} is closed")
            if self._thread is None:
                if fn is None:
                    return None  # type: ignore[return-value]  # never started: nothing to stop
                self._thread = threading.Thread(
                    target=self._serve, name=f"eventual-bus {self.path}", daemon=True
                )
                self._thread.start()
            self._jobs.put(_Job(fn, write, future, loop))
        return await future

    async def close(self) -> None:
        """Finish queued jobs, close the connection and stop the thread (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is None:
            return
        await self._submit(None, write=False)
        thread.join()

    def _serve(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:
            self._fail_waiting(exc)
            return
        stop: _Job | None = None
        try:
            while stop is None:
                batch = [self._jobs.get()]
                while len(batch) < MAX_BATCH:
                    try:
                        batch.append(self._jobs.get_nowait())
                    except queue.Empty:
                        break
                stops = [job for job in batch if job.fn is None]
                stop = stops[0] if stops else None
                jobs = [job for job in batch if job.fn is not None]
                if jobs:
                    _deliver(_run_batch(conn, jobs))
        finally:
            conn.close()
        _deliver([(stop, None, None)])

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:" and not self.path.startswith("file:"):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,
            cached_statements=128,
            uri=self.path.startswith("file:"),
        )
        try:
            self._use_wal(conn)
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            migrate(conn, self.path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise type(exc)(f"cannot open the event bus {self.path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        # Switching to WAL needs an exclusive lock and SQLite does not call the
        # busy handler for it: retry while another process opens the file too.
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL").fetchone()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.005)

    def _fail_waiting(self, exc: BaseException) -> None:
        with self._lock:
            self._thread = None
            failed: list[tuple[_Job, Any, BaseException | None]] = []
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                failed.append((job, None, None if job.fn is None else exc))
        _deliver(failed)


def _run_batch(
    conn: sqlite3.Connection, batch: list[_Job]
) -> list[tuple[_Job, Any, BaseException | None]]:
    """Run jobs in one transaction, each in a savepoint; return what to tell each caller."""
    begin = "BEGIN IMMEDIATE" if any(job.write for job in batch) else "BEGIN"
    done: list[tuple[_Job, Any, BaseException | None]] = []
    uncommitted: list[tuple[_Job, Any]] = []
    try:
        conn.execute(begin)
    except sqlite3.Error as exc:
        return [(job, None, exc) for job in batch]
    for job in batch:
        assert job.fn is not None
        conn.execute("SAVEPOINT job")
        try:
            result = job.fn(conn)
        except Exception as exc:
            if not conn.in_transaction:
                # SQLite rolled everything back (I/O error): earlier jobs failed too.
                done.extend((earlier, None, exc) for earlier, _ in uncommitted)
                uncommitted.clear()
                conn.execute(begin)
            else:
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
            done.append((job, None, exc))
            continue
        conn.execute("RELEASE job")
        uncommitted.append((job, result))
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        done.extend((job, None, exc) for job, _ in uncommitted)
        return done
    done.extend((job, result, None) for job, result in uncommitted)
    return done


def _deliver(outcomes: Sequence[tuple[_Job | None, Any, BaseException | None]]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, Any]]] = {}
    for job, result, exc in outcomes:
        if job is not None:
            by_loop.setdefault(job.loop, []).append((job.future, result, exc))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(_settle, settled)


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, exc in outcomes:
        if future.done():
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
