"""The public surface of eventual-engine is pinned."""

from __future__ import annotations

import eventual_engine


def test_all_is_pinned() -> None:
    """eventual_engine.__all__ is exactly the expected, sorted list, and every name exists."""
    assert eventual_engine.__all__ == [
        "BackendClient",
        "ClientHooks",
        "Clock",
        "Engine",
        "EngineOptions",
        "HttpApp",
        "HttpOptions",
        "LocalRuntime",
        "ManualClock",
        "MemoryBackend",
        "Orchestrator",
        "ReplayResult",
        "StepOutput",
        "SystemClock",
        "TaskWorker",
        "TimerWorker",
        "WorkflowInstance",
        "clash_message",
        "history_from_json",
        "history_to_json",
        "load_service",
        "replay",
        "schedule_execution_id",
        "schedule_tick",
        "sync_schedules",
    ]
    for name in eventual_engine.__all__:
        assert hasattr(eventual_engine, name)
