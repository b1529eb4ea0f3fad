"""Task definitions: options, argument encoding, and behaviour outside workflows."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import cast

import attrs
import pytest

from eventual import (
    RetryPolicy,
    RuntimeNotAvailable,
    Task,
    ValidationError,
    complete_async,
    complete_task,
    heartbeat,
    task,
    task_info,
)
from eventual.spi import Client, reset_client, set_client


@attrs.frozen
class Line:
    sku: str
    quantity: int


@task
async def add(a: int, b: int = 1) -> int:
    return a + b


@task(name="thread-name", timeout=30, retry=RetryPolicy(max_attempts=2))
def where() -> str:
    return threading.current_thread().name


@task
async def total(lines: list[Line], *, discount: float = 0.0) -> float:
    return sum(line.quantity for line in lines) * (1 - discount)


async def test_task_outside_workflow_runs_the_function() -> None:
    """Awaiting a task outside a workflow simply runs it."""
    assert await add(2, 3) == 5
    assert await add(2) == 3


async def test_a_task_runner_client_runs_direct_calls() -> None:
    """With an ambient client that is a TaskRunner, a call outside a workflow goes to it."""
    seen: list[tuple[str, tuple[object, ...], dict[str, object]]] = []

    class Runner:
        async def run_task(
            self, task: Task[..., object], args: tuple[object, ...], kwargs: dict[str, object]
        ) -> object:
            seen.append((task.name, args, kwargs))
            return 40

    token = set_client(cast(Client, Runner()))
    try:
        assert await add(2, b=3) == 40
    finally:
        reset_client(token)
    assert seen == [("add", (2,), {"b": 3})]
    assert await add(2, b=3) == 5  # without it, the function runs


async def test_plain_def_task_runs_in_a_thread() -> None:
    """A plain-def task's body runs in a worker thread, not the event loop's."""
    assert await where() != threading.current_thread().name


def test_options_are_kept() -> None:
    """Decorator options are normalised and kept on the definition."""
    assert isinstance(where, Task)
    assert where.name == "thread-name"
    assert where.timeout == timedelta(seconds=30)
    assert where.retry == RetryPolicy(max_attempts=2)
    assert add.timeout is None
    assert add.retry is None


def test_arguments_encode_and_decode_by_parameter_types() -> None:
    """Arguments are recorded as a JSON list in parameter order and decoded back to their types."""
    encoded = total.encode_args([[Line("a", 2)]], {"discount": 0.5})
    assert encoded == [[{"sku": "a", "quantity": 2}], 0.5]
    assert total.decode_args(encoded) == ([[Line("a", 2)]], {"discount": 0.5})


def test_bad_recorded_arguments_name_the_parameter() -> None:
    """Decoding arguments that do not fit names the task and parameter."""
    with pytest.raises(ValidationError) as info:
        total.decode_args([[{"sku": "a", "quantity": "many"}], 0.0])
    assert info.value.path == "total.lines[0].quantity"


def test_wrong_arity_is_a_clear_error() -> None:
    """Calling with arguments that do not bind names the task."""
    with pytest.raises(TypeError, match="task 'add'"):
        add.encode_args([1, 2, 3], {})


@pytest.mark.parametrize("bad", [0, -1, timedelta(0), "soon"])
def test_invalid_timeout_is_rejected(bad: object) -> None:
    """A non-positive or non-duration timeout is rejected at definition time."""
    with pytest.raises(ValueError, match="timeout"):
        task(name="t", timeout=bad)(lambda: None)  # type: ignore[call-overload]


def test_var_args_are_rejected() -> None:
    """Tasks with *args cannot be recorded and are rejected."""

    async def spread(*values: int) -> int:
        return sum(values)

    with pytest.raises(TypeError, match=r"\*values"):
        task(spread)


async def test_task_helpers_outside_a_worker() -> None:
    """task_info and complete_async need a worker; heartbeat is a no-op outside one."""
    await heartbeat({"progress": 1})
    with pytest.raises(RuntimeNotAvailable, match="task_info"):
        task_info()
    with pytest.raises(RuntimeNotAvailable, match="complete_async"):
        complete_async()


async def test_complete_task_without_runtime_names_what_is_missing() -> None:
    """complete_task outside any runtime says what it needs."""
    with pytest.raises(RuntimeNotAvailable, match="complete_task"):
        await complete_task("token", 1)
