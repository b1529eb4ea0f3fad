"""Log entries kept per execution: finding a backend's store, and the in-memory one.

A backend offers a ``logs`` attribute implementing ``eventual.spi.LogStore``;
one without it (written before logs existed) simply keeps none. Entries are
stored just before the step that logged them commits, not inside it (so the
backends' commit stays as it is): a reader that sees a step, or the end of an
execution, finds its lines, and a step that loses its commit and runs again
logs them again under the same keys, which the store keeps once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import attrs

from eventual.spi import Backend, LogEntry, LogStore

__all__ = ["MemoryLogs", "log_store", "store_logs"]

log = logging.getLogger("eventual.engine")


def log_store(backend: Backend) -> LogStore | None:
    """Return the backend's log store, or None when it keeps no logs."""
    store = getattr(backend, "logs", None)
    return store if isinstance(store, LogStore) else None


async def store_logs(store: LogStore | None, entries: Sequence[LogEntry]) -> None:
    """Store entries; a failure is logged, never raised (lines are not worth a step)."""
    if store is None or not entries:
        return
    try:
        await store.append_logs(entries)
    except Exception as error:
        log.warning(
            "could not keep %d log lines of %s: %s", len(entries), entries[0].execution_id, error
        )


class MemoryLogs:
    """``LogStore`` in dictionaries: the in-memory backend's."""

    def __init__(self) -> None:
        self._entries: dict[str, list[LogEntry]] = {}
        self._keys: set[tuple[str, str]] = set()

    async def append_logs(self, entries: Sequence[LogEntry]) -> None:
        """Store entries, skipping keys already stored."""
        for entry in entries:
            if (entry.execution_id, entry.key) in self._keys:
                continue
            self._keys.add((entry.execution_id, entry.key))
            kept = self._entries.setdefault(entry.execution_id, [])
            kept.append(attrs.evolve(entry, position=len(kept) + 1))

    async def read_logs(
        self, execution_id: str, after: int = 0, limit: int = 1000
    ) -> list[LogEntry]:
        """Return the execution's entries after position ``after``, oldest first."""
        return self._entries.get(execution_id, [])[max(after, 0) : max(after, 0) + limit]
