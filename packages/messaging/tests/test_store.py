"""Routes and dead-letter ids (``eventual_messaging._store``)."""

from __future__ import annotations

from datetime import UTC, datetime

from eventual.spi import EventEnvelope
from eventual_messaging._store import Route, dead_letter_id, split_dead_letter_id


def test_a_route_accepts_what_any_of_its_patterns_matches() -> None:
    """Patterns of one subscription are alternatives; their names are listed once."""
    route = Route(
        service="s",
        subscription="sub",
        patterns=(
            {"detail-type": ["A"], "detail": {"n": [1]}},
            {"detail-type": ["B"]},
            {"detail-type": ["A"], "detail": {"n": [2]}},
        ),
    )
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def envelope(name: str, n: int) -> EventEnvelope:
        return EventEnvelope(id="1", source="x", name=name, time=at, payload={"n": n})

    assert route.event_names() == ["A", "B"]
    assert route.accepts(envelope("A", 2))
    assert route.accepts(envelope("B", 9))
    assert not route.accepts(envelope("A", 3))
    assert not route.accepts(envelope("C", 1))


def test_dead_letter_ids_round_trip_and_reject_junk() -> None:
    """An id names the subscription and the event; event ids may contain the separator."""
    id_ = dead_letter_id("audit", "orders|fulfil/o1|3")
    assert split_dead_letter_id(id_) == ("audit", "orders|fulfil/o1|3")
    assert split_dead_letter_id("junk") is None
    assert split_dead_letter_id("|x") is None
    assert split_dead_letter_id("x|") is None
