"""``PostgresBackend.logs``: log lines kept per execution, once per key, read in order."""

from __future__ import annotations

from datetime import UTC, datetime

from eventual.spi import LogEntry, LogStore
from eventual_postgres import PostgresBackend

_AT = datetime(2026, 1, 1, tzinfo=UTC)


def _entry(execution_id: str, key: str, message: str) -> LogEntry:
    return LogEntry(
        execution_id=execution_id, key=key, time=_AT, level="INFO", message=message, seq=0
    )


async def test_log_lines_are_kept_once_per_key_and_read_after_a_position(
    backend: PostgresBackend,
) -> None:
    """A line logged again by a step that ran twice is kept once; after= reads only later ones."""
    assert isinstance(backend.logs, LogStore)
    await backend.logs.append_logs(
        [_entry("wf/a", "0|workflow|0", "one"), _entry("wf/b", "k", "b")]
    )
    await backend.logs.append_logs(
        [_entry("wf/a", "0|workflow|0", "one again"), _entry("wf/a", "1|1|0", "two")]
    )
    kept = await backend.logs.read_logs("wf/a")
    assert [entry.message for entry in kept] == ["one", "two"]
    assert kept[0].position < kept[1].position
    later = await backend.logs.read_logs("wf/a", after=kept[0].position)
    assert [entry.message for entry in later] == ["two"]
    assert await backend.logs.read_logs("wf/a", limit=1) == kept[:1]
    assert await backend.logs.read_logs("wf/none") == []
