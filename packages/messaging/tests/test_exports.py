"""The public surface of eventual-messaging is pinned."""

from __future__ import annotations

import subprocess
import sys

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


def test_the_conformance_suites_are_pinned() -> None:
    """The bus contract's public names are exactly the expected, sorted lists."""
    from eventual_messaging import conformance
    from eventual_messaging.conformance import fixtures, shipping

    assert conformance.__all__ == ["BusContract", "SemanticsHarness", "SubscriptionSemantics"]
    assert fixtures.__all__ == [
        "START",
        "ManualClock",
        "advance",
        "client",
        "manual_clock",
        "now",
        "published",
        "start",
    ]
    assert shipping.__all__ == [
        "SERVICE",
        "SOURCE",
        "Shipped",
        "accepted",
        "audit",
        "calls",
        "europe",
        "flaky",
        "handled",
        "picky",
        "reset",
        "ship",
        "shipped",
    ]
    for module in (conformance, fixtures, shipping):
        for name in module.__all__:
            assert hasattr(module, name)


def test_importing_the_package_imports_no_test_framework() -> None:
    """``import eventual_messaging`` works without pytest: the suites load only when asked."""
    code = "import sys, eventual_messaging; print(sorted(m for m in sys.modules if 'pytest' in m))"
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert output.strip() == "[]"
