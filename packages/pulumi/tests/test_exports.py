"""The public surface of eventual-pulumi is pinned."""

from __future__ import annotations

import eventual_pulumi


def test_all_is_pinned_and_sorted() -> None:
    """__all__ is exactly the expected, sorted list, and every name exists."""
    assert eventual_pulumi.__all__ == [
        "Bucket",
        "Function",
        "FunctionOverrides",
        "HttpApi",
        "Service",
    ]
    assert eventual_pulumi.__all__ == sorted(eventual_pulumi.__all__)
    for name in eventual_pulumi.__all__:
        assert hasattr(eventual_pulumi, name)
