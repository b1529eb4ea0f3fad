"""Checks of ``LogStore`` (for a backend that keeps logs): order, positions, one copy each.

A backend without a ``logs`` store passes them: keeping logs is optional.
"""

from __future__ import annotations

from eventual.spi import Backend, LogEntry, LogStore

from .._logs import log_store
from .support import T0, Timing

__all__ = ["CHECKS"]


def _line(execution_id: str, key: str, message: str, *, seq: int = 1) -> LogEntry:
    return LogEntry(
        execution_id=execution_id, key=key, time=T0, level="INFO", message=message, seq=seq
    )


async def _messages(store: LogStore, execution_id: str, after: int = 0) -> list[str]:
    return [e.message for e in await store.read_logs(execution_id, after)]


async def lines_are_read_in_the_order_stored(backend: Backend, timing: Timing) -> None:
    """Each execution's lines come back in the order stored, positions rising past ``after``."""
    store = log_store(backend)
    if store is None:
        return
    await store.append_logs([_line("w/a", "1|workflow|0", "a1"), _line("w/b", "1|1|0", "b1")])
    await store.append_logs([_line("w/a", "1|1|0", "a2"), _line("w/a", "2|workflow|0", "a3")])
    entries = await store.read_logs("w/a")
    assert [e.message for e in entries] == ["a1", "a2", "a3"]
    positions = [e.position for e in entries]
    assert positions == sorted(set(positions)), positions
    assert positions[0] >= 1, positions
    assert await _messages(store, "w/a", after=positions[0]) == ["a2", "a3"]
    assert await _messages(store, "w/a", after=positions[-1]) == []
    assert [e.message for e in await store.read_logs("w/a", 0, limit=2)] == ["a1", "a2"]
    assert await _messages(store, "w/b") == ["b1"]
    assert await _messages(store, "w/none") == []


async def a_line_stored_again_is_kept_once(backend: Backend, timing: Timing) -> None:
    """A line whose key is stored already (a step that ran again) is not stored twice."""
    store = log_store(backend)
    if store is None:
        return
    first, second = _line("w/a", "1|workflow|0", "one"), _line("w/a", "1|workflow|1", "two")
    await store.append_logs([first, second, second])
    await store.append_logs([second, _line("w/a", "2|workflow|0", "three", seq=2)])
    assert await _messages(store, "w/a") == ["one", "two", "three"]
    entry = (await store.read_logs("w/a"))[2]
    assert (entry.key, entry.seq, entry.level, entry.time) == ("2|workflow|0", 2, "INFO", T0)


CHECKS = (lines_are_read_in_the_order_stored, a_line_stored_again_is_kept_once)
