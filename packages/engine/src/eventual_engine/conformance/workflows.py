"""The service the workflow semantics run: every workflow and task they start.

A runtime that imports services by name (the AWS handlers do) loads it as
``Service.load("eventual_engine.conformance.workflows")``; :data:`SERVICE` is the
same service for a runtime in this process. What the tasks and workflows did is
kept in module-level lists (``calls``, ``tokens``, ``cleanup``, ...) that
:func:`reset` empties between checks.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import attrs

from eventual import (
    ExecutionInfo,
    HeartbeatTimeout,
    RetryPolicy,
    Service,
    TaskError,
    Timeout,
    WorkflowFailed,
    complete_async,
    condition,
    continue_as_new,
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

__all__ = [
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

calls: list[str] = []
"""Each ``double`` call, as ``"double(x)"``."""


@attrs.frozen
class Item:
    """An order line: the structured input and output."""

    sku: str
    quantity: int


@task
async def double(x: int) -> int:
    """Record the call in ``calls`` and return twice ``x``."""
    calls.append(f"double({x})")
    return x * 2


@task
def blocking_add(a: int, b: int) -> int:
    """Add in a worker thread (a plain ``def`` task)."""
    return a + b


@task
async def boom(message: str) -> None:
    """Raise ``ValueError(message)``."""
    raise ValueError(message)


flaky_failures: dict[str, int] = {}
"""Failures ``flaky`` has left, by key."""
interrupted: list[str] = []
"""The keys of ``blocks`` calls that were cancelled."""


@task
async def blocks(key: str) -> None:
    """Wait until cancelled; record ``key`` in ``interrupted`` then."""
    try:
        await asyncio.Event().wait()  # until cancelled
    except asyncio.CancelledError:
        interrupted.append(key)
        raise


@workflow
async def runs_a_blocking_task(key: str) -> None:
    """Run ``blocks(key)``."""
    await blocks(key)


@task(retry=RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=10)))
async def flaky(key: str) -> str:
    """Fail while ``flaky_failures[key]`` counts down, then succeed (three attempts)."""
    left = flaky_failures.get(key, 0)
    if left:
        flaky_failures[key] = left - 1
        raise ConnectionError(f"try again ({left} left)")
    return f"ok after {task_info().attempt}"


@task(retry=RetryPolicy(max_attempts=5, non_retryable=(LookupError,)))
async def fatal() -> None:
    """Raise ``KeyError``, a non-retryable error of its policy."""
    raise KeyError("missing")


@task(timeout=timedelta(seconds=5))
async def slow() -> None:
    """Complete asynchronously and never finish: past its 5-second timeout."""
    complete_async()  # and nobody completes it


@task(heartbeat_timeout=timedelta(seconds=5))
async def silent() -> None:
    """Beat once, then go silent past its 5-second heartbeat timeout."""
    await heartbeat("started")
    complete_async()  # the outside worker dies without another beat


@task(heartbeat_timeout=timedelta(seconds=5))
async def beating() -> str:
    """Beat three times and finish."""
    for _ in range(3):
        await heartbeat({"progress": 1})
        await asyncio.sleep(0)
    return "done"


tokens: list[str] = []
"""The tokens of ``external`` calls."""


@task
async def external() -> str:
    """Record its token in ``tokens`` and complete asynchronously."""
    tokens.append(task_info().token)
    complete_async()


@workflow
async def sequential(n: int) -> int:
    """Call ``double`` for 0 to ``n - 1``, one after another; return the sum."""
    total = 0
    for i in range(n):
        total += await double(i)
    return total


@workflow
async def parallel(n: int) -> list[int]:
    """Call ``double`` for 0 to ``n - 1`` together with ``asyncio.gather``."""
    return list(await asyncio.gather(*(double(i) for i in range(n))))


@workflow
async def threaded(x: int) -> int:
    """Call the plain ``def`` task."""
    return await blocking_add(x, 1)


@workflow
async def failing(message: str) -> str:
    """Catch the ``TaskError`` of ``boom`` and describe it."""
    try:
        await boom(message)
    except TaskError as error:
        return f"caught {error.error_type}: {error.message}"
    return "unreachable"


@workflow
async def raising(message: str) -> None:
    """Fail with ``RuntimeError(message)``."""
    raise RuntimeError(message)


@workflow
async def retrying(key: str) -> str:
    """Call ``flaky(key)``."""
    return await flaky(key)


@workflow
async def fatal_flow(_: None) -> str:
    """Return the error type of the non-retryable task's failure."""
    try:
        await fatal()
    except TaskError as error:
        return error.error_type
    return "no"


@workflow
async def timing_out(_: None) -> str:
    """Return ``"timeout"`` when the task times out."""
    try:
        await slow()
    except Timeout:
        return "timeout"
    return "no"


@workflow
async def heartbeat_flow(kind: str) -> str:
    """Run the ``silent`` or the ``beating`` task."""
    try:
        if kind == "silent":
            await silent()  # never returns: it goes silent past its heartbeat timeout
            return "silent task finished"
        return await beating()
    except HeartbeatTimeout:
        return "heartbeat timeout"


@workflow
async def async_completion(_: None) -> str:
    """Return what ``external`` is completed with."""
    return await external()


@workflow
async def sleeper(seconds: int) -> str:
    """Sleep twice (``sleep`` and ``asyncio.sleep``); return the seconds slept."""
    before = now()
    await sleep(timedelta(seconds=seconds))
    await asyncio.sleep(seconds)
    return f"{(now() - before).total_seconds():.0f}"


approval = signal("approval", bool)
note = signal("note", str)


@workflow
async def approve(_: None) -> str:
    """Expect ``approval`` for an hour."""
    try:
        approved = await approval.expect(timeout=timedelta(hours=1))
    except Timeout:
        return "timed-out"
    return "approved" if approved else "rejected"


@workflow
async def collector(count: int) -> list[str]:
    """Collect ``count`` ``note`` signals with ``on``."""
    notes: list[str] = []
    note.on(notes.append)
    await condition(lambda: len(notes) >= count)
    return notes


@workflow
async def relay(run: int) -> str:
    """Take one ``note``; the first run continues as new, the second returns its note."""
    text = await note.expect()
    if run == 1:
        continue_as_new(2)
    return text


@workflow
async def waits_with_condition(_: None) -> bool:
    """Wait a minute for a condition that never holds."""
    return await condition(lambda: False, timeout=timedelta(minutes=1))


@workflow
async def info_flow(_: None) -> dict[str, Any]:
    """Return ``execution_info``, ``uuid4`` and ``random`` inside the workflow."""
    info: ExecutionInfo = execution_info()
    return {"id": info.execution_id, "name": info.name, "uuid": str(uuid4()), "r": random()}


@workflow
async def child_flow(x: int) -> int:
    """Run ``sequential`` as a child and return its result."""
    return await sequential(x)


@workflow
async def child_failing(message: str) -> str:
    """Catch the ``WorkflowFailed`` of a failing child."""
    try:
        await raising(message)
    except WorkflowFailed as error:
        return f"{error.error_type}: {error.message}"
    return "no"


@workflow
async def start_child(x: int) -> int:
    """Start ``sequential`` as child ``kid`` and await its handle."""
    handle = await sequential.start(x, name="kid")
    return await handle.result()


@workflow(timeout=timedelta(minutes=10))
async def long_flow(_: None) -> None:
    """Sleep an hour, past the workflow's 10-minute timeout."""
    await sleep(timedelta(hours=1))


cleanup: list[str] = []
"""What cancelled ``cancellable`` executions cleaned up."""


@workflow
async def cancellable(_: None) -> str:
    """Wait for a signal; record ``"cleaned"`` in ``cleanup`` when cancelled."""
    try:
        await approval.expect()
    except asyncio.CancelledError:
        cleanup.append("cleaned")
        raise
    return "no"


@workflow
async def parent_of_cancellable(_: None) -> None:
    """Run ``cancellable`` as a child."""
    await cancellable(
        None,
    )


@workflow
async def primitives(_: None) -> list[str]:
    """Use ``create_task``, ``Event``, ``wait``, ``wait_for`` and ``try/finally``."""
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
    """Publish two ``placed`` events."""
    await placed.publish(item, Item("b", 2))


@workflow
async def structured(item: Item) -> Item:
    """Return a changed ``Item``."""
    return Item(item.sku.upper(), item.quantity + 1)


@workflow
async def unserialisable(_: None) -> Any:
    """Return a value JSON cannot hold."""
    return object()


SERVICE = Service.from_definitions(
    "semantics",
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
        relay,
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


def reset() -> None:
    """Forget what earlier checks' tasks and workflows recorded."""
    calls.clear()
    flaky_failures.clear()
    interrupted.clear()
    tokens.clear()
    cleanup.clear()
