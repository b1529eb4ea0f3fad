"""The public surface of eventual-messaging is pinned."""

from __future__ import annotations

import eventual_messaging


def test_all_is_pinned_and_sorted() -> None:
    """__all__ is exactly the expected, sorted list, and every name exists."""
    assert eventual_messaging.__all__ == [
        "BusOptions",
        "BusSchemaVersionError",
        "BusStore",
        "Claim",
        "Delivery",
        "LocalBus",
        "MemoryBus",
        "Outcome",
        "Route",
        "ServiceRoutes",
        "SqliteBus",
        "bus_options",
        "matches",
        "split_dead_letter_id",
    ]
    for name in eventual_messaging.__all__:
        assert hasattr(eventual_messaging, name)
