"""How an eventual event travels through EventBridge and back out of SQS.

EventBridge matches rules against an event's ``detail``, and a subscription's
filter (``order_placed.where(region="eu")``) is an EventBridge pattern on the
payload's fields, so the payload must *be* the detail. What eventual needs besides
the payload (the envelope's id, which makes delivery exactly-once per id, and its
exact time) rides along under one reserved key, ``_eventual``. ``detail`` must be a
JSON object: a payload that is not one (a number, a list, a string) is wrapped as
``{"_eventual": {..., "wrapped": true}, "payload": ...}``; filters only apply to
record payloads, so no pattern ever looks inside the wrapper.

An event arrives at a subscription's queue as the whole EventBridge event
(``{"version", "id", "detail-type", "source", "time", "detail", ...}``) in the SQS
message body; :func:`envelope_from_body` turns it back into the envelope.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from eventual import EventualError
from eventual.spi import EventEnvelope

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

__all__ = [
    "ENTRY_LIMIT",
    "META_KEY",
    "EventTooLarge",
    "MalformedEvent",
    "detail_of",
    "entry_of",
    "entry_size",
    "envelope_from_body",
]

META_KEY = "_eventual"
"""The key of ``detail`` under which eventual's envelope fields travel."""

ENTRY_LIMIT = 256 * 1024
"""EventBridge's limit on one ``PutEvents`` entry, and on a whole request, in bytes."""


class EventTooLarge(EventualError):
    """An event is over EventBridge's 256 KB entry limit."""


class MalformedEvent(EventualError):
    """A queue message is not an EventBridge event eventual published."""


def detail_of(envelope: EventEnvelope) -> dict[str, Any]:
    """Return the EventBridge ``detail`` carrying ``envelope``."""
    meta: dict[str, Any] = {"id": envelope.id, "time": envelope.time.isoformat()}
    payload = envelope.payload
    if isinstance(payload, dict) and META_KEY not in payload:
        return {**payload, META_KEY: meta}
    return {META_KEY: {**meta, "wrapped": True}, "payload": payload}


def entry_size(entry: Mapping[str, Any]) -> int:
    """Return an entry's size as EventBridge counts it against the 256 KB limit."""
    size = 14  # the Time field
    for key in ("Source", "DetailType", "Detail"):
        value = entry.get(key)
        if isinstance(value, str):
            size += len(value.encode())
    for resource in entry.get("Resources", ()):
        size += len(str(resource).encode())
    return size


def entry_of(envelope: EventEnvelope, bus_name: str) -> PutEventsRequestEntryTypeDef:
    """Return the ``PutEvents`` entry that publishes ``envelope`` on ``bus_name``.

    Raises:
        EventTooLarge: The entry is over 256 KB; the message names the event and its
            size. (A larger payload cannot be matched by a rule's pattern, so it is
            refused rather than stored elsewhere: publish a reference instead.)
    """
    detail = json.dumps(detail_of(envelope), separators=(",", ":"), ensure_ascii=False)
    entry: PutEventsRequestEntryTypeDef = {
        "Source": envelope.source,
        "DetailType": envelope.name,
        "Detail": detail,
        "EventBusName": bus_name,
        "Time": envelope.time,
    }
    size = entry_size(entry)
    if size > ENTRY_LIMIT:
        raise EventTooLarge(
            f"event {envelope.name!r} ({envelope.id}) is {size} bytes on EventBridge, over its "
            f"limit of {ENTRY_LIMIT} bytes per event: publish a smaller payload (for example "
            "a key to data stored elsewhere)"
        )
    return entry


def envelope_from_body(body: str) -> EventEnvelope:
    """Return the envelope of an EventBridge event delivered in an SQS message body.

    Raises:
        MalformedEvent: The body is not JSON, not an EventBridge event, or carries no
            eventual envelope; the message says which.
    """
    try:
        document = json.loads(body)
    except ValueError as error:
        raise MalformedEvent(f"the message body is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise MalformedEvent(f"the message body is not an EventBridge event: {_clip(body)}")
    detail = document.get("detail")
    name = document.get("detail-type")
    source = document.get("source")
    if not isinstance(detail, dict) or not isinstance(name, str) or not isinstance(source, str):
        raise MalformedEvent(
            "the message body is not an EventBridge event (it needs detail-type, source and "
            f"an object detail): {_clip(body)}"
        )
    meta = detail.get(META_KEY)
    if not isinstance(meta, dict) or not isinstance(meta.get("id"), str):
        raise MalformedEvent(
            f"event {name!r} from {source!r} was not published by eventual (its detail has no "
            f"{META_KEY!r} envelope): {_clip(body)}"
        )
    time = _time(meta.get("time"), document.get("time"))
    if meta.get("wrapped"):
        payload = detail.get("payload")
    else:
        payload = {key: value for key, value in detail.items() if key != META_KEY}
    return EventEnvelope(id=meta["id"], source=source, name=name, time=time, payload=payload)


def _time(exact: object, coarse: object) -> datetime:
    for text in (exact, coarse):
        if isinstance(text, str):
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise MalformedEvent(f"the event has no readable time ({exact!r}, {coarse!r})")


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
