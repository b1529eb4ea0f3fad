"""The public surface of eventual-core is pinned: names never appear or vanish by accident."""

from __future__ import annotations

import importlib

import pytest

EXPECTED: dict[str, list[str]] = {
    "eventual": [
        "Command",
        "DefinitionNotFound",
        "DeterminismError",
        "DuplicateDefinition",
        "Event",
        "EventFilter",
        "EventualError",
        "ExecutionAlreadyExists",
        "ExecutionHandle",
        "ExecutionInfo",
        "ExecutionNotFound",
        "ExecutionStatus",
        "FilterError",
        "HeartbeatTimeout",
        "HttpError",
        "HttpRequest",
        "HttpResponse",
        "Middleware",
        "RetryPolicy",
        "Route",
        "RuntimeNotAvailable",
        "Schedule",
        "ScheduleInfo",
        "Service",
        "ServiceClient",
        "ServiceLoadError",
        "Signal",
        "Subscription",
        "SyncExecutionHandle",
        "SyncServiceClient",
        "Task",
        "TaskError",
        "TaskInfo",
        "Timeout",
        "ValidationError",
        "Workflow",
        "WorkflowFailed",
        "api",
        "between",
        "command",
        "complete_async",
        "complete_task",
        "condition",
        "continue_as_new",
        "deprecate_patch",
        "event",
        "execution_info",
        "exists",
        "fail_task",
        "get_plugin_manager",
        "heartbeat",
        "hookimpl",
        "hookspec",
        "logger",
        "now",
        "numeric",
        "patched",
        "prefix",
        "random",
        "signal",
        "sleep",
        "sleep_until",
        "subscription",
        "task",
        "task_info",
        "uuid4",
        "workflow",
    ],
    "eventual.codec": [
        "Codec",
        "JsonValue",
        "MAX_DEPTH",
        "check_storable",
        "decode",
        "default_codec",
        "encode",
    ],
    "eventual.sqlite": [
        "DEFAULT_DB",
        "MAX_BATCH",
        "Database",
        "DatabaseClosed",
        "Prepare",
        "Synchronous",
        "database_path",
        "synchronous_level",
        "synchronous_setting",
    ],
    "eventual.hookspecs": [
        "eventual_backend_providers",
        "eventual_cli_commands",
        "eventual_config_defaults",
        "eventual_configure_codec",
        "eventual_deploy_targets",
        "eventual_event_bus_providers",
    ],
}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_all_is_pinned(module: str) -> None:
    """Each public module's __all__ is exactly the expected, sorted list."""
    assert importlib.import_module(module).__all__ == EXPECTED[module]


@pytest.mark.parametrize(
    "module",
    ["eventual", "eventual.codec", "eventual.history", "eventual.plugins", "eventual.spi"],
)
def test_every_exported_name_exists(module: str) -> None:
    """Every name in __all__ is importable and __all__ is sorted."""
    imported = importlib.import_module(module)
    assert list(imported.__all__) == sorted(imported.__all__)
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.{name} is exported but missing"


def test_user_api_of_the_design_is_importable() -> None:
    """Everything DESIGN.md section 3 imports from eventual is there."""
    from eventual import (  # noqa: F401
        HttpError,
        HttpRequest,
        HttpResponse,
        RetryPolicy,
        Timeout,
        api,
        command,
        condition,
        event,
        signal,
        sleep,
        subscription,
        task,
        workflow,
    )
