"""The public surface of eventual-testing is pinned."""

from __future__ import annotations

import eventual_testing


def test_all_is_pinned() -> None:
    """eventual_testing.__all__ is exactly the expected, sorted list, and every name exists."""
    assert eventual_testing.__all__ == [
        "CallLog",
        "ExecutionStillRunning",
        "TaskMock",
        "TestEnvironment",
        "WorkflowMock",
    ]
    for name in eventual_testing.__all__:
        assert hasattr(eventual_testing, name)
