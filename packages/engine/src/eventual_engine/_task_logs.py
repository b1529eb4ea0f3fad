"""A task attempt's log lines, stored while the attempt runs.

A long task's progress is worth seeing as it happens (``eventual logs
--follow``), so its lines are not held until the attempt ends. Nor is each
line a write of its own: one write is in flight at a time, and the lines
logged meanwhile go together in the next. A body logging in a burst without
awaiting anything costs one write; a body that logs and then waits has its
line stored at once.

Lines come from the worker's event loop (an ``async def`` body) or from a
worker thread (a plain ``def`` body), so the buffer is guarded by a lock and
the writer is woken on the loop thread-safely. Order is kept: lines are
written in the order they were logged, one batch after the other.
"""

from __future__ import annotations

import asyncio
import threading

from eventual.spi import LogEntry, LogStore

from ._logs import store_logs

__all__ = ["LiveLogs"]


class LiveLogs:
    """The lines of one task attempt, written to the store as they come.

    Args:
        store: Where lines are kept; None keeps none.
        loop: The loop that writes them (the worker's).
    """

    def __init__(self, store: LogStore | None, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: list[LogEntry] = []
        self._count = 0
        self._writer: asyncio.Task[None] | None = None

    def next_number(self) -> int:
        """Return the number of the next line (its key within the attempt)."""
        with self._lock:
            number = self._count
            self._count += 1
            return number

    def add(self, entry: LogEntry) -> None:
        """Queue a line; it is written soon, with the lines logged alongside it."""
        if self._store is None:
            return
        with self._lock:
            self._pending.append(entry)
            first = len(self._pending) == 1
        if first:
            try:
                self._loop.call_soon_threadsafe(self._wake)
            except RuntimeError:
                # A threaded body that outlived its worker's loop: a log call must
                # never fail the body, and nothing is left to write the line.
                return

    async def close(self) -> None:
        """Write every line queued so far (the attempt has ended)."""
        while True:
            with self._lock:
                pending = bool(self._pending)
            writer = self._wake() if pending else self._writer
            if writer is None or (writer.done() and not pending):
                return
            # Shielded: an attempt cancelled now still leaves its lines to be written.
            await asyncio.shield(writer)

    def _wake(self) -> asyncio.Task[None]:
        # Only ever one writer, so batches are written in the order they were taken.
        if self._writer is None or self._writer.done():
            self._writer = self._loop.create_task(self._write_pending())
        return self._writer

    async def _write_pending(self) -> None:
        while True:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            await store_logs(self._store, batch)
