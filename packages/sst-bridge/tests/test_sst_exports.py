"""The public surface of eventual-sst is pinned."""

from __future__ import annotations

import eventual_sst


def test_all_is_pinned_and_sorted() -> None:
    """__all__ is exactly the expected, sorted list, and every name exists."""
    assert eventual_sst.__all__ == [
        "COMPONENT_FILE",
        "SstAddition",
        "add_service",
        "component_source",
        "config_lines",
    ]
    assert eventual_sst.__all__ == sorted(eventual_sst.__all__)
    for name in eventual_sst.__all__:
        assert hasattr(eventual_sst, name)
