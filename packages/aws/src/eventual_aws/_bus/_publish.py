"""``PutEvents`` in batches, with failed entries retried.

``PutEvents`` takes at most 10 entries and 256 KB per request, and it can succeed
for some entries and fail for others in the same answer (``FailedEntryCount``,
an ``ErrorCode`` per failed entry): throttling or an internal failure on one
entry is not an exception. Failed entries are sent again, alone, with a growing
pause; entries EventBridge refuses for what they are (a malformed detail, a
missing bus) fail at once, naming the event and the code.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from eventual import EventualError

from ._envelope import ENTRY_LIMIT, entry_size

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

    from .._backend._clients import Clients

__all__ = ["MAX_ENTRIES", "PublishFailed", "batches", "put_events"]

MAX_ENTRIES = 10
"""Most entries in one ``PutEvents`` request."""

# Error codes worth another try: the entry was fine, the service was not.
_RETRYABLE = frozenset({"ThrottlingException", "InternalFailure", "InternalException"})


class PublishFailed(EventualError):
    """EventBridge refused some events, or kept failing them after retries."""


def batches(
    entries: Sequence[PutEventsRequestEntryTypeDef],
) -> list[list[PutEventsRequestEntryTypeDef]]:
    """Split entries into requests of at most 10 entries and 256 KB, keeping their order."""
    out: list[list[PutEventsRequestEntryTypeDef]] = []
    size = 0
    for entry in entries:
        entry_bytes = entry_size(entry)
        if not out or len(out[-1]) == MAX_ENTRIES or size + entry_bytes > ENTRY_LIMIT:
            out.append([])
            size = 0
        out[-1].append(entry)
        size += entry_bytes
    return out


async def put_events(
    clients: Clients,
    entries: Sequence[PutEventsRequestEntryTypeDef],
    *,
    attempts: int = 6,
    first_pause: float = 0.05,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Put every entry on its bus, retrying entries that failed for a passing reason.

    Raises:
        PublishFailed: An entry was refused for what it is, or still failed after
            ``attempts`` tries; the message names the events and the codes.
    """
    pending = list(entries)
    pause = first_pause
    last: list[tuple[PutEventsRequestEntryTypeDef, str, str]] = []
    for attempt in range(attempts):
        if attempt:
            await sleep(pause)
            pause *= 2
        last = []
        for batch in batches(pending):
            answer = await clients.call(clients.events.put_events, Entries=batch)
            if not answer.get("FailedEntryCount"):
                continue
            for entry, result in zip(batch, answer["Entries"], strict=True):
                code = result.get("ErrorCode")
                if code:
                    last.append((entry, code, result.get("ErrorMessage", "")))
        if not last:
            return
        refused = [failure for failure in last if failure[1] not in _RETRYABLE]
        if refused:
            raise PublishFailed(f"EventBridge refused {_describe(refused)}")
        pending = [entry for entry, _, _ in last]
    raise PublishFailed(f"EventBridge still failed {_describe(last)} after {attempts} attempts")


def _describe(failures: Sequence[tuple[PutEventsRequestEntryTypeDef, str, str]]) -> str:
    parts = []
    for entry, code, message in failures[:5]:
        event_id = json.loads(entry["Detail"]).get("_eventual", {}).get("id", "?")
        parts.append(f"event {entry['DetailType']!r} ({event_id}): {code} {message}".strip())
    more = f" and {len(failures) - 5} more" if len(failures) > 5 else ""
    return "; ".join(parts) + more
