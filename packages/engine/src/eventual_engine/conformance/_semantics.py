"""Workflow semantics end to end, as plain async checks on a harness of any runtime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from eventual import (
    ExecutionAlreadyExists,
    ExecutionHandle,
    ExecutionNotFound,
    ExecutionStatus,
    ValidationError,
    Workflow,
    WorkflowFailed,
)
from eventual.history import TaskRetryScheduled, TaskScheduled, TimerScheduled
from eventual.spi import Client

from .workflows import (
    Item,
    approval,
    approve,
    async_completion,
    calls,
    child_failing,
    child_flow,
    cleanup,
    collector,
    failing,
    fatal_flow,
    flaky_failures,
    heartbeat_flow,
    info_flow,
    long_flow,
    note,
    parallel,
    parent_of_cancellable,
    primitives,
    raising,
    relay,
    retrying,
    sequential,
    sleeper,
    start_child,
    structured,
    threaded,
    timing_out,
    tokens,
    unserialisable,
    waits_with_condition,
)

_E = TypeVar("_E", bound=BaseException)


class WorkflowHarness(Protocol):
    """What the workflow semantics need of a runtime running :mod:`.workflows`' service.

    ``reset()`` of that module is called before each check.
    """

    @property
    def client(self) -> Client:
        """The runtime's client: starting by name, completing tasks, reading status."""

    async def start(
        self, workflow: Workflow[Any, Any], input: Any, name: str | None = None
    ) -> ExecutionHandle[Any]:
        """Start an execution and let the work that needs no time finish."""

    async def advance(self, delta: timedelta) -> None:
        """Move the runtime's clock by ``delta``, then let what came due run."""

    async def settle(self) -> None:
        """Let the work that needs no time finish (``Engine.run_until_idle``)."""


WorkflowCheck = Callable[[WorkflowHarness], Awaitable[None]]
"""One check: run it on a harness; it raises ``AssertionError`` on a breach."""


async def _raised(kind: type[_E], awaitable: Awaitable[object]) -> _E:
    """Return the ``kind`` error that awaiting ``awaitable`` raises; fail if none does."""
    try:
        await awaitable
    except kind as error:
        return error
    raise AssertionError(f"expected {kind.__name__}; nothing was raised")


async def _types(handle: ExecutionHandle[Any]) -> list[str]:
    """Return the types of the execution's history events."""
    return [e.type for e in await handle.history()]


async def sequential_tasks(h: WorkflowHarness) -> None:
    """Tasks called one after another run in order and their results flow back."""
    handle = await h.start(sequential, 4)
    assert await handle.result() == 12
    assert calls == ["double(0)", "double(1)", "double(2)", "double(3)"]
    types = await _types(handle)
    assert types[0] == "WorkflowStarted"
    assert types[-1] == "WorkflowSucceeded"
    assert types.count("TaskScheduled") == 4
    assert types.count("TaskSucceeded") == 4


async def gather_runs_tasks_together(h: WorkflowHarness) -> None:
    """asyncio.gather schedules every task in one step, in call order."""
    handle = await h.start(parallel, 3)
    assert await handle.result() == [0, 2, 4]
    history = await handle.history()
    scheduled = [e.seq for e in history if isinstance(e, TaskScheduled)]
    assert scheduled == [1, 2, 3]
    assert [e.type for e in history[1:4]] == ["TaskScheduled"] * 3


async def plain_def_task_runs_in_a_thread(h: WorkflowHarness) -> None:
    """A plain-def task runs (in a worker thread) and returns its value."""
    assert await (await h.start(threaded, 41)).result() == 42


async def task_error_carries_type_and_message(h: WorkflowHarness) -> None:
    """A task's exception reaches the workflow as TaskError with type name and message."""
    assert await (await h.start(failing, "bad")).result() == "caught ValueError: bad"


async def workflow_exception_fails_execution(h: WorkflowHarness) -> None:
    """An exception in workflow code fails the execution with its type and message."""
    handle = await h.start(raising, "kaput")
    assert await handle.status() is ExecutionStatus.FAILED
    info = await _raised(WorkflowFailed, handle.result())
    assert (info.error_type, info.message) == ("RuntimeError", "kaput")


async def retry_with_durable_backoff(h: WorkflowHarness) -> None:
    """A failing task is retried after its back-off on the clock, then succeeds."""
    flaky_failures["k"] = 2
    handle = await h.start(retrying, "k")
    assert await handle.status() is ExecutionStatus.RUNNING
    retries = [e for e in await handle.history() if isinstance(e, TaskRetryScheduled)]
    assert [(r.attempt, r.error_type) for r in retries] == [(2, "ConnectionError")]
    await h.advance(timedelta(seconds=9))
    assert await handle.status() is ExecutionStatus.RUNNING
    await h.advance(timedelta(seconds=1))
    await h.advance(timedelta(seconds=20))
    assert await handle.result() == "ok after 3"


async def retries_exhausted(h: WorkflowHarness) -> None:
    """After max_attempts failures the workflow sees the last error."""
    flaky_failures["x"] = 5
    handle = await h.start(retrying, "x")
    await h.advance(timedelta(minutes=5))
    info = await _raised(WorkflowFailed, handle.result())
    assert info.error_type == "TaskError"
    assert "ConnectionError" in info.message


async def non_retryable_fails_at_once(h: WorkflowHarness) -> None:
    """An error listed in non_retryable (here KeyError, a LookupError) is not retried."""
    handle = await h.start(fatal_flow, None)
    assert await handle.result() == "KeyError"
    assert "TaskRetryScheduled" not in await _types(handle)


async def task_timeout(h: WorkflowHarness) -> None:
    """A task exceeding its timeout raises Timeout in the workflow."""
    handle = await h.start(timing_out, None)
    await h.advance(timedelta(seconds=5))
    assert await handle.result() == "timeout"
    assert "TaskTimedOut" in await _types(handle)


async def heartbeat_timeout(h: WorkflowHarness) -> None:
    """A task that stops sending heartbeats fails with HeartbeatTimeout."""
    handle = await h.start(heartbeat_flow, "silent")
    await h.advance(timedelta(seconds=6))
    assert await handle.result() == "heartbeat timeout"


async def heartbeats_keep_task_alive(h: WorkflowHarness) -> None:
    """A task that beats and finishes succeeds."""
    handle = await h.start(heartbeat_flow, "beating")
    assert await handle.result() == "done"


async def complete_async(h: WorkflowHarness) -> None:
    """complete_async leaves the task open until complete_task is called with its token."""
    tokens.clear()
    handle = await h.start(async_completion, None)
    assert await handle.status() is ExecutionStatus.RUNNING
    assert len(tokens) == 1
    await h.client.complete_task(tokens[0], "from outside")
    await h.settle()
    assert await handle.result() == "from outside"


async def fail_task_by_token(h: WorkflowHarness) -> None:
    """fail_task fails an asynchronously completed task with the given error."""
    tokens.clear()
    handle = await h.start(async_completion, None)
    await h.client.fail_task(tokens[0], "PermissionError", "denied")
    await h.settle()
    info = await _raised(WorkflowFailed, handle.result())
    assert "PermissionError: denied" in info.message


async def durable_sleep(h: WorkflowHarness) -> None:
    """Sleep and asyncio.sleep are durable timers that fire when the clock reaches them."""
    handle = await h.start(sleeper, 30)
    timers = [e for e in await handle.history() if isinstance(e, TimerScheduled)]
    assert len(timers) == 1
    await h.advance(timedelta(seconds=29))
    assert await handle.status() is ExecutionStatus.RUNNING
    await h.advance(timedelta(seconds=31))
    assert await handle.result() == "60"


async def signal_received(h: WorkflowHarness) -> None:
    """Expect returns the payload of a signal sent to the execution."""
    handle = await h.start(approve, None)
    await handle.signal(approval, True)
    await h.settle()
    assert await handle.result() == "approved"


async def signal_timeout(h: WorkflowHarness) -> None:
    """Expect raises Timeout when no signal comes in time."""
    handle = await h.start(approve, None)
    await h.advance(timedelta(hours=1))
    assert await handle.result() == "timed-out"


async def signals_kept_until_consumed(h: WorkflowHarness) -> None:
    """Signals that arrive before anything consumes them are kept in order for on()."""
    handle = await h.start(collector, 3)
    for text in ("a", "b", "c"):
        await handle.signal(note, text)
    await h.settle()
    assert await handle.result() == ["a", "b", "c"]


async def signals_behind_continue_as_new_reach_the_next_run(h: WorkflowHarness) -> None:
    """A signal sent with the one that makes a run continue as new is the next run's."""
    handle = await h.start(relay, 1)
    await handle.signal(note, "first")
    await handle.signal(note, "second")
    await h.settle()
    assert await handle.status() is ExecutionStatus.SUCCEEDED  # not waiting for a note
    assert await handle.result() == "second"


async def signal_to_ended_execution_is_discarded(h: WorkflowHarness) -> None:
    """Sending a signal to an ended execution does not fail."""
    handle = await h.start(sequential, 1)
    await handle.result()
    await handle.signal(approval, True)
    await h.settle()
    assert await handle.status() is ExecutionStatus.SUCCEEDED


async def condition_timeout(h: WorkflowHarness) -> None:
    """Condition returns False when its timeout passes first."""
    handle = await h.start(waits_with_condition, None)
    await h.advance(timedelta(minutes=1))
    assert await handle.result() is False


async def execution_info_and_determinism_helpers(h: WorkflowHarness) -> None:
    """execution_info names the execution; uuid4 and random are seeded per execution."""
    first = await (await h.start(info_flow, None, name="one")).result()
    assert first["id"] == "info_flow/one"
    assert first["name"] == "one"
    again = await (await h.start(info_flow, None, name="two")).result()
    assert again["uuid"] != first["uuid"]


async def child_workflow(h: WorkflowHarness) -> None:
    """Awaiting a workflow inside a workflow runs a child execution and returns its result."""
    handle = await h.start(child_flow, 3, name="parent")
    assert await handle.result() == 6
    child = await h.client.execution_status("sequential/parent-1")
    assert child is ExecutionStatus.SUCCEEDED


async def child_failure(h: WorkflowHarness) -> None:
    """A failed child raises WorkflowFailed in the parent."""
    assert await (await h.start(child_failing, "no")).result() == "RuntimeError: no"


async def start_child_and_await_handle(h: WorkflowHarness) -> None:
    """wf.start inside a workflow starts a child whose handle result can be awaited."""
    handle = await h.start(start_child, 2)
    assert await handle.result() == 2
    assert await h.client.execution_status("sequential/kid") is ExecutionStatus.SUCCEEDED


async def workflow_timeout(h: WorkflowHarness) -> None:
    """An execution running past its workflow timeout ends TIMED_OUT."""
    handle = await h.start(long_flow, None)
    await h.advance(timedelta(minutes=10))
    assert await handle.status() is ExecutionStatus.TIMED_OUT
    info = await _raised(WorkflowFailed, handle.result())
    assert info.error_type == "Timeout"


async def cancel_runs_cleanup_and_cancels_children(h: WorkflowHarness) -> None:
    """Cancelling raises CancelledError in the workflow so cleanup runs; children are cancelled."""
    cleanup.clear()
    handle = await h.start(parent_of_cancellable, None)
    await handle.cancel()
    await h.settle()
    assert await handle.status() is ExecutionStatus.CANCELLED
    child = "cancellable/" + handle.id.split("/", 1)[1] + "-1"
    assert await h.client.execution_status(child) is ExecutionStatus.CANCELLED
    assert cleanup == ["cleaned"]


async def asyncio_primitives(h: WorkflowHarness) -> None:
    """create_task, Event, wait, wait_for and try/finally behave inside workflows."""
    handle = await h.start(primitives, None)
    await h.advance(timedelta(seconds=5))
    await h.advance(timedelta(seconds=10))
    assert await handle.result() == ["set", "wait:1/0", "wait_for timed out", "try", "finally"]


async def structured_input_and_output(h: WorkflowHarness) -> None:
    """Inputs and results are decoded to and from their declared types."""
    assert await (await h.start(structured, Item("a", 1))).result() == Item("A", 2)


async def bad_input_fails_at_start(h: WorkflowHarness) -> None:
    """Input that does not fit the workflow's type is rejected at start, naming the field."""
    info = await _raised(
        ValidationError, h.client.start_execution("structured", {"sku": "a", "quantity": "x"}, None)
    )
    assert info.path == "input.quantity"


async def unserialisable_result_fails_clearly(h: WorkflowHarness) -> None:
    """A result that cannot be serialised fails the execution with a clear message."""
    handle = await h.start(unserialisable, None)
    info = await _raised(WorkflowFailed, handle.result())
    assert "cannot be serialised" in info.message


async def unknown_workflow_and_execution(h: WorkflowHarness) -> None:
    """An unknown workflow or execution id gets a clear error."""
    assert "no workflow named 'nope'" in str(
        await _raised(Exception, h.client.start_execution("nope", None, None))
    )
    assert "nope/1" in str(await _raised(ExecutionNotFound, h.client.execution_status("nope/1")))


async def same_name_same_input_is_idempotent(h: WorkflowHarness) -> None:
    """Starting again with the same name and input returns the same execution."""
    first = await h.client.start_execution("sequential", 2, "same")
    assert await h.client.start_execution("sequential", 2, "same") == first
    await _raised(ExecutionAlreadyExists, h.client.start_execution("sequential", 3, "same"))


SEMANTICS: tuple[WorkflowCheck, ...] = (
    sequential_tasks,
    gather_runs_tasks_together,
    plain_def_task_runs_in_a_thread,
    task_error_carries_type_and_message,
    workflow_exception_fails_execution,
    retry_with_durable_backoff,
    retries_exhausted,
    non_retryable_fails_at_once,
    task_timeout,
    heartbeat_timeout,
    heartbeats_keep_task_alive,
    complete_async,
    fail_task_by_token,
    durable_sleep,
    signal_received,
    signal_timeout,
    signals_kept_until_consumed,
    signals_behind_continue_as_new_reach_the_next_run,
    signal_to_ended_execution_is_discarded,
    condition_timeout,
    execution_info_and_determinism_helpers,
    child_workflow,
    child_failure,
    start_child_and_await_handle,
    workflow_timeout,
    cancel_runs_cleanup_and_cancels_children,
    asyncio_primitives,
    structured_input_and_output,
    bad_input_fails_at_start,
    unserialisable_result_fails_clearly,
    unknown_workflow_and_execution,
    same_name_same_input_is_idempotent,
)
"""Every workflow-semantics check, in the order above."""
