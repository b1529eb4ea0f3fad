"""Workflow, signal and event definitions and the time helpers, outside any runtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventual import (
    ExecutionHandle,
    RuntimeNotAvailable,
    Workflow,
    condition,
    event,
    execution_info,
    now,
    random,
    signal,
    sleep,
    sleep_until,
    uuid4,
    workflow,
)
from eventual.spi import execution_id


@workflow(timeout=timedelta(days=7))
async def greet(name: str) -> str:
    return f"hello {name}"


approval = signal("approval", bool)
ping = signal("ping")
placed = event("placed", int)


def test_workflow_definition() -> None:
    """A workflow keeps its name, timeout and declared types."""
    assert isinstance(greet, Workflow)
    assert greet.name == "greet"
    assert greet.timeout == timedelta(days=7)
    assert greet.input_type is str
    assert greet.output_type is str


def test_workflow_needs_async_def_with_one_input_or_none() -> None:
    """A workflow must be an async def taking one input or none."""

    def sync(x: int) -> int:
        return x

    async def two(a: int, b: int) -> int:
        return a + b

    with pytest.raises(TypeError, match="async def"):
        workflow(sync)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="one input parameter or none, it takes 2"):
        workflow(two)  # type: ignore[arg-type]


async def test_workflow_without_input_takes_none() -> None:
    """A workflow without a parameter is started with None and its body runs without one."""

    @workflow
    async def tick() -> str:
        return "ticked"

    assert tick.input_type is type(None)
    assert tick.decode_input(None) is None
    assert await tick.run(None) == "ticked"


def test_invalid_names_are_rejected() -> None:
    """Names must be usable in URLs and execution ids."""
    with pytest.raises(ValueError, match="invalid workflow name"):
        workflow(name="a/b")(greet.fn)
    with pytest.raises(ValueError, match="invalid signal name"):
        signal("", int)


async def test_start_without_runtime_names_what_is_missing() -> None:
    """Starting a workflow with no runtime says how to get one."""
    with pytest.raises(
        RuntimeNotAvailable, match=r"greet.start\(\) needs a running eventual runtime"
    ):
        await greet.start("x")


async def test_signal_and_event_outside_runtime() -> None:
    """Send and publish need a runtime; expect and on need a workflow."""
    with pytest.raises(RuntimeNotAvailable, match=r"approval\.send"):
        await approval.send("greet/1", True)
    with pytest.raises(RuntimeNotAvailable, match=r"placed\.publish"):
        await placed.publish(1)
    with pytest.raises(RuntimeNotAvailable, match="inside a workflow"):
        await approval.expect()
    with pytest.raises(RuntimeNotAvailable, match="inside a workflow"):
        approval.on(lambda value: None)
    assert ping.payload_type is type(None)


async def test_time_helpers_outside_workflows() -> None:
    """now, random and uuid4 are ordinary outside workflows; sleep really sleeps."""
    before = datetime.now(UTC)
    assert before <= now() <= datetime.now(UTC)
    assert 0 <= random() < 1
    assert uuid4() != uuid4()
    await sleep(0)
    await sleep(timedelta(milliseconds=1))
    await sleep_until(now())
    with pytest.raises(ValueError, match="timezone-aware"):
        await sleep_until(datetime(2026, 1, 1))
    with pytest.raises(RuntimeNotAvailable):
        await condition(lambda: True)
    with pytest.raises(RuntimeNotAvailable):
        execution_info()


def test_execution_ids() -> None:
    """Execution ids are workflow/name and names cannot contain '/'."""
    assert execution_id("greet", "abc") == "greet/abc"
    with pytest.raises(ValueError, match="invalid execution name"):
        execution_id("greet", "a/b")


def test_handle_identity() -> None:
    """Handles compare by execution id."""
    assert ExecutionHandle("greet/1") == ExecutionHandle("greet/1")
    assert len({ExecutionHandle("greet/1"), ExecutionHandle("greet/1")}) == 1
