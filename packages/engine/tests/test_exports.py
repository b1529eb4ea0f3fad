"""The public surface of eventual-engine is pinned."""

from __future__ import annotations

import eventual_engine


def test_all_is_pinned() -> None:
    """eventual_engine.__all__ is exactly the expected, sorted list, and every name exists."""
    assert eventual_engine.__all__ == [
        "Clock",
        "Engine",
        "EngineOptions",
        "HttpApp",
        "HttpOptions",
        "LocalRuntime",
        "ManualClock",
        "MemoryBackend",
        "StepOutput",
        "SystemClock",
        "WorkflowInstance",
        "load_service",
    ]
    for name in eventual_engine.__all__:
        assert hasattr(eventual_engine, name)
