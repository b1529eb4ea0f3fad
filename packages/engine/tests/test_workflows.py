"""Workflow semantics end to end: engine, orchestrator, executor and in-memory backend."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import attrs
import pytest

from eventual import (
    ExecutionAlreadyExists,
    ExecutionHandle,
    ExecutionInfo,
    ExecutionNotFound,
    ExecutionStatus,
    HeartbeatTimeout,
    RetryPolicy,
    Service,
    TaskError,
    Timeout,
    ValidationError,
    Workflow,
    WorkflowFailed,
    complete_async,
    condition,
    event,
    execution_info,
    heartbeat,
    now,
    random,
    signal,
    sleep,
    task,
    task_info,
    uuid4,
    workflow,
)
from eventual.history import EventsPublished, TaskRetryScheduled, TimerScheduled
from eventual_engine import Engine

calls: list[str] = []


@attrs.frozen
class Item:
    sku: str
    quantity: int


@task
async def double(x: int) -> int:
    calls.append(f"double({x})")
    return x * 2


@task
def blocking_add(a: int, b: int) -> int:
    return a + b


@task
async def boom(message: str) -> None:
    raise ValueError(message)


flaky_failures: dict[str, int] = {}
interrupted: list[str] = []


@task
async def blocks(key: str) -> None:
    try:
        await asyncio.Event().wait()  # until cancelled
    except asyncio.CancelledError:
        interrupted.append(key)
        raise


@workflow
async def runs_a_blocking_task(key: str) -> None:
    await blocks(key)


@task(retry=RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=10)))
async def flaky(key: str) -> str:
    left = flaky_failures.get(key, 0)
    if left:
        flaky_failures[key] = left - 1
        raise ConnectionError(f"try again ({left} left)")
    return f"ok after {task_info().attempt}"


@task(retry=RetryPolicy(max_attempts=5, non_retryable=(LookupError,)))
async def fatal() -> None:
    raise KeyError("missing")


@task(timeout=timedelta(seconds=5))
async def slow() -> None:
    complete_async()  # and nobody completes it


@task(heartbeat_timeout=timedelta(seconds=5))
async def silent() -> None:
    await heartbeat("started")
    complete_async()  # the outside worker dies without another beat


@task(heartbeat_timeout=timedelta(seconds=5))
async def beating() -> str:
    for _ in range(3):
        await heartbeat({"progress": 1})
        await asyncio.sleep(0)
    return "done"


tokens: list[str] = []


@task
async def external() -> str:
    tokens.append(task_info().token)
    complete_async()


@workflow
async def sequential(n: int) -> int:
    total = 0
    for i in range(n):
        total += await double(i)
    return total


@workflow
async def parallel(n: int) -> list[int]:
    return list(await asyncio.gather(*(double(i) for i in range(n))))


@workflow
async def threaded(x: int) -> int:
    return await blocking_add(x, 1)


@workflow
async def failing(message: str) -> str:
    try:
        await boom(message)
    except TaskError as error:
        return f"caught {error.error_type}: {error.message}"
    return "unreachable"


@workflow
async def raising(message: str) -> None:
    raise RuntimeError(message)


@workflow
async def retrying(key: str) -> str:
    return await flaky(key)


@workflow
async def fatal_flow(_: None) -> str:
    try:
        await fatal()
    except TaskError as error:
        return error.error_type
    return "no"


@workflow
async def timing_out(_: None) -> str:
    try:
        await slow()
    except Timeout:
        return "timeout"
    return "no"


@workflow
async def heartbeat_flow(kind: str) -> str:
    try:
        return await (silent() if kind == "silent" else beating())  # type: ignore[return-value]
    except HeartbeatTimeout:
        return "heartbeat timeout"


@workflow
async def async_completion(_: None) -> str:
    return await external()


@workflow
async def sleeper(seconds: int) -> str:
    before = now()
    await sleep(timedelta(seconds=seconds))
    await asyncio.sleep(seconds)
    return f"{(now() - before).total_seconds():.0f}"


approval = signal("approval", bool)
note = signal("note", str)


@workflow
async def approve(_: None) -> str:
    try:
        approved = await approval.expect(timeout=timedelta(hours=1))
    except Timeout:
        return "timed-out"
    return "approved" if approved else "rejected"


@workflow
async def collector(count: int) -> list[str]:
    notes: list[str] = []
    note.on(notes.append)
    await condition(lambda: len(notes) >= count)
    return notes


@workflow
async def waits_with_condition(_: None) -> bool:
    return await condition(lambda: False, timeout=timedelta(minutes=1))


@workflow
async def info_flow(_: None) -> dict[str, Any]:
    info: ExecutionInfo = execution_info()
    return {"id": info.execution_id, "name": info.name, "uuid": str(uuid4()), "r": random()}


@workflow
async def child_flow(x: int) -> int:
    return await sequential(x)


@workflow
async def child_failing(message: str) -> str:
    try:
        await raising(message)
    except WorkflowFailed as error:
        return f"{error.error_type}: {error.message}"
    return "no"


@workflow
async def start_child(x: int) -> int:
    handle = await sequential.start(x, name="kid")
    return await handle.result()


@workflow(timeout=timedelta(minutes=10))
async def long_flow(_: None) -> None:
    await sleep(timedelta(hours=1))


cleanup: list[str] = []


@workflow
async def cancellable(_: None) -> str:
    try:
        await approval.expect()
    except asyncio.CancelledError:
        cleanup.append("cleaned")
        raise
    return "no"


@workflow
async def parent_of_cancellable(_: None) -> None:
    await cancellable(
        None,
    )


@workflow
async def primitives(_: None) -> list[str]:
    seen: list[str] = []
    flag = asyncio.Event()

    async def setter() -> None:
        await sleep(5)
        seen.append("set")
        flag.set()

    background = asyncio.create_task(setter())
    await flag.wait()
    done, pending = await asyncio.wait([asyncio.ensure_future(double(1))], timeout=30)
    seen.append(f"wait:{len(done)}/{len(pending)}")
    try:
        await asyncio.wait_for(approval.expect(), timeout=10)
    except TimeoutError:
        seen.append("wait_for timed out")
    await background
    try:
        seen.append("try")
    finally:
        seen.append("finally")
    return seen


placed = event("placed", Item)


@workflow
async def publisher(item: Item) -> None:
    await placed.publish(item, Item("b", 2))


@workflow
async def structured(item: Item) -> Item:
    return Item(item.sku.upper(), item.quantity + 1)


@workflow
async def unserialisable(_: None) -> Any:
    return object()


SERVICE = Service.from_definitions(
    "test",
    [
        blocks,
        runs_a_blocking_task,
        double,
        blocking_add,
        boom,
        flaky,
        fatal,
        slow,
        silent,
        beating,
        external,
        sequential,
        parallel,
        threaded,
        failing,
        raising,
        retrying,
        fatal_flow,
        timing_out,
        heartbeat_flow,
        async_completion,
        sleeper,
        approval,
        note,
        approve,
        collector,
        waits_with_condition,
        info_flow,
        child_flow,
        child_failing,
        start_child,
        long_flow,
        cancellable,
        parent_of_cancellable,
        primitives,
        placed,
        publisher,
        structured,
        unserialisable,
    ],
)


class Harness:
    """Starts executions and moves the manual clock of one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def start(
        self, workflow: Workflow[Any, Any], input: Any, name: str | None = None
    ) -> ExecutionHandle[Any]:
        """Start an execution and settle the work that needs no time."""
        id_ = await self.engine.start_execution(workflow.name, workflow.encode_input(input), name)
        await self.engine.run_until_idle()
        return ExecutionHandle(id_, control=self.engine, result_type=workflow.output_type)

    async def advance(self, delta: timedelta) -> None:
        """Move the clock by ``delta``, firing due work in time order."""
        await self.engine.advance_to(self.engine.clock.now() + delta)

    async def history_types(self, handle: ExecutionHandle[Any]) -> list[str]:
        """Return the types of the execution's history events."""
        return [e.type for e in await handle.history()]


@pytest.fixture
def h(any_engine_factory: Any) -> Harness:
    calls.clear()
    return Harness(any_engine_factory(SERVICE))


async def test_sequential_tasks(h: Harness) -> None:
    """Tasks called one after another run in order and their results flow back."""
    handle = await h.start(sequential, 4)
    assert await handle.result() == 12
    assert calls == ["double(0)", "double(1)", "double(2)", "double(3)"]
    types = await h.history_types(handle)
    assert types[0] == "WorkflowStarted"
    assert types[-1] == "WorkflowSucceeded"
    assert types.count("TaskScheduled") == 4
    assert types.count("TaskSucceeded") == 4


async def test_gather_runs_tasks_together(h: Harness) -> None:
    """asyncio.gather schedules every task in one step, in call order."""
    handle = await h.start(parallel, 3)
    assert await handle.result() == [0, 2, 4]
    history = await handle.history()
    scheduled = [e.seq for e in history if e.type == "TaskScheduled"]  # type: ignore[attr-defined]
    assert scheduled == [1, 2, 3]
    assert [e.type for e in history[1:4]] == ["TaskScheduled"] * 3


async def test_plain_def_task_runs_in_a_thread(h: Harness) -> None:
    """A plain-def task runs (in a worker thread) and returns its value."""
    assert await (await h.start(threaded, 41)).result() == 42


async def test_task_error_carries_type_and_message(h: Harness) -> None:
    """A task's exception reaches the workflow as TaskError with type name and message."""
    assert await (await h.start(failing, "bad")).result() == "caught ValueError: bad"


async def test_workflow_exception_fails_execution(h: Harness) -> None:
    """An exception in workflow code fails the execution with its type and message."""
    handle = await h.start(raising, "kaput")
    assert await handle.status() is ExecutionStatus.FAILED
    with pytest.raises(WorkflowFailed) as info:
        await handle.result()
    assert (info.value.error_type, info.value.message) == ("RuntimeError", "kaput")


async def test_retry_with_durable_backoff(h: Harness) -> None:
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


async def test_retries_exhausted(h: Harness) -> None:
    """After max_attempts failures the workflow sees the last error."""
    flaky_failures["x"] = 5
    handle = await h.start(retrying, "x")
    await h.advance(timedelta(minutes=5))
    with pytest.raises(WorkflowFailed) as info:
        await handle.result()
    assert info.value.error_type == "TaskError"
    assert "ConnectionError" in info.value.message


async def test_non_retryable_fails_at_once(h: Harness) -> None:
    """An error listed in non_retryable (here KeyError, a LookupError) is not retried."""
    handle = await h.start(fatal_flow, None)
    assert await handle.result() == "KeyError"
    assert "TaskRetryScheduled" not in await h.history_types(handle)


async def test_task_timeout(h: Harness) -> None:
    """A task exceeding its timeout raises Timeout in the workflow."""
    handle = await h.start(timing_out, None)
    await h.advance(timedelta(seconds=5))
    assert await handle.result() == "timeout"
    assert "TaskTimedOut" in await h.history_types(handle)


async def test_heartbeat_timeout(h: Harness) -> None:
    """A task that stops sending heartbeats fails with HeartbeatTimeout."""
    handle = await h.start(heartbeat_flow, "silent")
    await h.advance(timedelta(seconds=6))
    assert await handle.result() == "heartbeat timeout"


async def test_heartbeats_keep_task_alive(h: Harness) -> None:
    """A task that beats and finishes succeeds."""
    handle = await h.start(heartbeat_flow, "beating")
    assert await handle.result() == "done"


async def test_complete_async(h: Harness) -> None:
    """complete_async leaves the task open until complete_task is called with its token."""
    tokens.clear()
    handle = await h.start(async_completion, None)
    assert await handle.status() is ExecutionStatus.RUNNING
    assert len(tokens) == 1
    await h.engine.complete_task(tokens[0], "from outside")
    await h.engine.run_until_idle()
    assert await handle.result() == "from outside"


async def test_fail_task_by_token(h: Harness) -> None:
    """fail_task fails an asynchronously completed task with the given error."""
    tokens.clear()
    handle = await h.start(async_completion, None)
    await h.engine.fail_task(tokens[0], "PermissionError", "denied")
    await h.engine.run_until_idle()
    with pytest.raises(WorkflowFailed) as info:
        await handle.result()
    assert "PermissionError: denied" in info.value.message


async def test_durable_sleep(h: Harness) -> None:
    """Sleep and asyncio.sleep are durable timers that fire when the clock reaches them."""
    handle = await h.start(sleeper, 30)
    timers = [e for e in await handle.history() if isinstance(e, TimerScheduled)]
    assert len(timers) == 1
    await h.advance(timedelta(seconds=29))
    assert await handle.status() is ExecutionStatus.RUNNING
    await h.advance(timedelta(seconds=31))
    assert await handle.result() == "60"


async def test_signal_received(h: Harness) -> None:
    """Expect returns the payload of a signal sent to the execution."""
    handle = await h.start(approve, None)
    await handle.signal(approval, True)
    await h.engine.run_until_idle()
    assert await handle.result() == "approved"


async def test_signal_timeout(h: Harness) -> None:
    """Expect raises Timeout when no signal comes in time."""
    handle = await h.start(approve, None)
    await h.advance(timedelta(hours=1))
    assert await handle.result() == "timed-out"


async def test_signals_kept_until_consumed(h: Harness) -> None:
    """Signals that arrive before anything consumes them are kept in order for on()."""
    handle = await h.start(collector, 3)
    for text in ("a", "b", "c"):
        await handle.signal(note, text)
    await h.engine.run_until_idle()
    assert await handle.result() == ["a", "b", "c"]


async def test_signal_to_ended_execution_is_discarded(h: Harness) -> None:
    """Sending a signal to an ended execution does not fail."""
    handle = await h.start(sequential, 1)
    await handle.result()
    await handle.signal(approval, True)
    await h.engine.run_until_idle()
    assert await handle.status() is ExecutionStatus.SUCCEEDED


async def test_condition_timeout(h: Harness) -> None:
    """Condition returns False when its timeout passes first."""
    handle = await h.start(waits_with_condition, None)
    await h.advance(timedelta(minutes=1))
    assert await handle.result() is False


async def test_execution_info_and_determinism_helpers(h: Harness) -> None:
    """execution_info names the execution; uuid4 and random are seeded per execution."""
    first = await (await h.start(info_flow, None, name="one")).result()
    assert first["id"] == "info_flow/one"
    assert first["name"] == "one"
    again = await (await h.start(info_flow, None, name="two")).result()
    assert again["uuid"] != first["uuid"]


async def test_child_workflow(h: Harness) -> None:
    """Awaiting a workflow inside a workflow runs a child execution and returns its result."""
    handle = await h.start(child_flow, 3)
    assert await handle.result() == 6
    children = [
        r
        for r in (await h.engine.backend.executions.list(_filter())).executions
        if r.parent_id == handle.id
    ]
    assert [c.workflow for c in children] == ["sequential"]


async def test_child_failure(h: Harness) -> None:
    """A failed child raises WorkflowFailed in the parent."""
    assert await (await h.start(child_failing, "no")).result() == "RuntimeError: no"


async def test_start_child_and_await_handle(h: Harness) -> None:
    """wf.start inside a workflow starts a child whose handle result can be awaited."""
    handle = await h.start(start_child, 2)
    assert await handle.result() == 2
    assert await h.engine.execution_status("sequential/kid") is ExecutionStatus.SUCCEEDED


async def test_workflow_timeout(h: Harness) -> None:
    """An execution running past its workflow timeout ends TIMED_OUT."""
    handle = await h.start(long_flow, None)
    await h.advance(timedelta(minutes=10))
    assert await handle.status() is ExecutionStatus.TIMED_OUT
    with pytest.raises(WorkflowFailed) as info:
        await handle.result()
    assert info.value.error_type == "Timeout"


async def test_cancel_runs_cleanup_and_cancels_children(h: Harness) -> None:
    """Cancelling raises CancelledError in the workflow so cleanup runs; children are cancelled."""
    cleanup.clear()
    handle = await h.start(parent_of_cancellable, None)
    await handle.cancel()
    await h.engine.run_until_idle()
    assert await handle.status() is ExecutionStatus.CANCELLED
    child = "cancellable/" + (await h.engine.execution_record(handle.id)).name + "-1"
    assert await h.engine.execution_status(child) is ExecutionStatus.CANCELLED
    assert cleanup == ["cleaned"]


async def test_asyncio_primitives(h: Harness) -> None:
    """create_task, Event, wait, wait_for and try/finally behave inside workflows."""
    handle = await h.start(primitives, None)
    await h.advance(timedelta(seconds=5))
    await h.advance(timedelta(seconds=10))
    assert await handle.result() == ["set", "wait:1/0", "wait_for timed out", "try", "finally"]


async def test_publish_recorded(h: Harness) -> None:
    """Events published by a workflow are recorded in history and put in the outbox."""
    handle = await h.start(publisher, Item("a", 1))
    await handle.result()
    published = [e for e in await handle.history() if isinstance(e, EventsPublished)]
    assert [p.payload for p in published[0].events] == [
        {"sku": "a", "quantity": 1},
        {"sku": "b", "quantity": 2},
    ]
    outbox = await h.engine.backend.published(10)
    assert [e.name for _, e in outbox] == ["placed", "placed"]


async def test_structured_input_and_output(h: Harness) -> None:
    """Inputs and results are decoded to and from their declared types."""
    assert await (await h.start(structured, Item("a", 1))).result() == Item("A", 2)


async def test_bad_input_fails_at_start(h: Harness) -> None:
    """Input that does not fit the workflow's type is rejected at start, naming the field."""
    with pytest.raises(ValidationError) as info:
        await h.engine.start_execution("structured", {"sku": "a", "quantity": "x"}, None)
    assert info.value.path == "input.quantity"


async def test_unserialisable_result_fails_clearly(h: Harness) -> None:
    """A result that cannot be serialised fails the execution with a clear message."""
    handle = await h.start(unserialisable, None)
    with pytest.raises(WorkflowFailed) as info:
        await handle.result()
    assert "cannot be serialised" in info.value.message


async def test_unknown_workflow_and_execution(h: Harness) -> None:
    """An unknown workflow or execution id gets a clear error."""
    with pytest.raises(Exception, match="no workflow named 'nope'"):
        await h.engine.start_execution("nope", None, None)
    with pytest.raises(ExecutionNotFound, match="nope/1"):
        await h.engine.execution_status("nope/1")


async def test_same_name_same_input_is_idempotent(h: Harness) -> None:
    """Starting again with the same name and input returns the same execution."""
    first = await h.engine.start_execution("sequential", 2, "same")
    assert await h.engine.start_execution("sequential", 2, "same") == first
    with pytest.raises(ExecutionAlreadyExists):
        await h.engine.start_execution("sequential", 3, "same")


def _filter() -> Any:
    from eventual.spi import ExecutionFilter

    return ExecutionFilter(limit=100)


async def test_cancel_forgets_a_task_waiting_for_its_retry(h: Harness) -> None:
    """A retry waiting out its back-off does not run once its execution is cancelled."""
    flaky_failures["cancelled"] = 5
    handle = await h.start(retrying, "cancelled")
    assert flaky_failures["cancelled"] == 4  # the first attempt failed; a retry waits 10 s
    assert await h.engine.backend.tasks.pending() == 1
    await handle.cancel()
    await h.engine.run_until_idle()
    assert await handle.status() is ExecutionStatus.CANCELLED
    assert await h.engine.backend.tasks.pending() == 0
    await h.advance(timedelta(minutes=5))
    assert flaky_failures["cancelled"] == 4  # the retry never ran
    assert h.engine.tasks.attempts == 1


async def test_cancel_stops_a_running_attempt_in_this_process(h: Harness) -> None:
    """An attempt still running when its execution is cancelled is cancelled too."""
    interrupted.clear()
    engine = h.engine
    id_ = await engine.start_execution(runs_a_blocking_task.name, "b", "blocked")
    await asyncio.sleep(0)  # the attempt starts
    assert len(engine.tasks.running) == 1
    await engine.cancel_execution(id_)
    await asyncio.wait_for(engine.run_until_idle(), 10)
    assert await engine.execution_status(id_) is ExecutionStatus.CANCELLED
    assert interrupted == ["b"]
    assert not engine.tasks.running
