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
        "SCHEDULER_TASKS",
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


def test_the_conformance_suites_are_pinned() -> None:
    """The names of the contract, its helpers, the semantics and the histories are pinned."""
    from eventual_engine import conformance
    from eventual_engine.conformance import histories, support, workflows

    assert conformance.__all__ == [
        "CHECKS",
        "SEMANTICS",
        "BackendCheck",
        "Timing",
        "WorkflowCheck",
        "WorkflowHarness",
        "run_checks",
    ]
    assert workflows.__all__ == [
        "SERVICE",
        "Item",
        "approval",
        "approve",
        "async_completion",
        "beating",
        "blocking_add",
        "blocks",
        "boom",
        "calls",
        "cancellable",
        "child_failing",
        "child_flow",
        "cleanup",
        "collector",
        "double",
        "external",
        "failing",
        "fatal",
        "fatal_flow",
        "flaky",
        "flaky_failures",
        "heartbeat_flow",
        "info_flow",
        "interrupted",
        "long_flow",
        "note",
        "parallel",
        "parent_of_cancellable",
        "placed",
        "primitives",
        "publisher",
        "raising",
        "relay",
        "reset",
        "retrying",
        "runs_a_blocking_task",
        "sequential",
        "silent",
        "sleeper",
        "slow",
        "start_child",
        "structured",
        "threaded",
        "timing_out",
        "tokens",
        "unserialisable",
        "waits_with_condition",
    ]
    assert support.__all__ == [
        "LONG",
        "SCHEDULED",
        "T0",
        "Timing",
        "claim_one",
        "consume",
        "dispatch",
        "done",
        "make_record",
        "message_ids",
        "raises_conflict",
        "signal",
        "start",
        "started_and_claimed",
        "started_of",
        "task",
        "timer",
    ]
    assert histories.__all__ == ["COMPAT_SHOP", "FOLDER", "recorded"]
    for module in (conformance, histories, support, workflows):
        for name in module.__all__:
            assert hasattr(module, name)
