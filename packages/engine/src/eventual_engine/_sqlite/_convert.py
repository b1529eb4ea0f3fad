"""SQLite's use of the shared stored format (``eventual.spi``), and its time constants.

Times that queries compare (timer due times, task ``not_before``, heartbeats) are
stored as integer microseconds since the Unix epoch: exact for every
``datetime``, sortable, and indexable, unlike ISO text with varying offsets. The
JSON copy inside each row keeps the original value for decoding.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from eventual.spi import (
    dump_event,
    dump_json,
    dump_published,
    dump_record,
    dump_task,
    dump_timer,
    from_micros,
    load_event,
    load_published,
    load_record,
    load_task,
    load_timer,
    micros,
)

__all__ = [
    "EARLIEST",
    "EARLIEST_US",
    "dump_event",
    "dump_json",
    "dump_published",
    "dump_record",
    "dump_task",
    "dump_timer",
    "from_micros",
    "load_event",
    "load_published",
    "load_record",
    "load_task",
    "load_timer",
    "micros",
]

EARLIEST: Final = datetime.min.replace(tzinfo=UTC)
"""What ``next_ready`` returns for an attempt that may start at once (as in memory)."""

EARLIEST_US: Final = -62_135_596_800_000_000
"""``micros(EARLIEST)``: the ``not_before_us`` of an attempt without ``not_before``."""
