"""An open LocalRuntime is the default client of its event loop's tasks and of other threads."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

import pytest

from eventual import ExecutionNotFound, RuntimeNotAvailable, Service, task, workflow
from eventual_engine import EngineOptions, LocalRuntime


@task
def shout(value: str) -> str:
    return value.upper()


@workflow
async def loud(value: str) -> str:
    return await shout(value)


SERVICE = Service.from_definitions("defaults", [shout, loud])
FAST = EngineOptions(poll_interval=0.01)
T = TypeVar("T")


@contextlib.asynccontextmanager
async def opened_elsewhere(runtime: LocalRuntime) -> AsyncIterator[LocalRuntime]:
    """Keep ``runtime`` open in a task of its own context, as a web server's lifespan does."""
    entered = asyncio.Event()
    leave = asyncio.Event()

    async def lifespan() -> None:
        async with runtime:
            entered.set()
            await leave.wait()

    owner = asyncio.create_task(lifespan(), context=contextvars.Context())
    while not entered.is_set():
        if owner.done():
            owner.result()
        await asyncio.sleep(0.001)
    try:
        yield runtime
    finally:
        leave.set()
        await owner


def in_fresh_context(coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Run a coroutine in a task that inherits nothing, as a server's request handler."""
    return asyncio.create_task(coroutine, context=contextvars.Context())


async def _start_and_wait(value: str) -> str:
    handle = await loud.start(value)
    return await asyncio.wait_for(handle.result(), 10)


async def test_request_tasks_use_the_runtime_opened_in_the_lifespan() -> None:
    """wf.start() in a task that never saw the runtime's block uses the open runtime."""
    async with opened_elsewhere(LocalRuntime(SERVICE, options=FAST)):
        assert await in_fresh_context(_start_and_wait("a")) == "A"


async def test_threads_call_into_the_runtime_on_its_loop() -> None:
    """A thread that runs its own event loop reaches the runtime, whose loop does the work."""
    async with opened_elsewhere(LocalRuntime(SERVICE, options=FAST)):
        result = await asyncio.to_thread(lambda: asyncio.run(_start_and_wait("thread")))
    assert result == "THREAD"


async def test_threads_started_inside_the_block_reach_it_too() -> None:
    """Code inside `async with` that hands a coroutine to a thread's own loop still works."""
    async with LocalRuntime(SERVICE, options=FAST):
        result = await asyncio.to_thread(lambda: asyncio.run(_start_and_wait("inner")))
    assert result == "INNER"


async def test_the_innermost_explicit_runtime_wins() -> None:
    """Inside another runtime's `async with` block, that runtime serves, not the default."""
    async with (
        opened_elsewhere(LocalRuntime(SERVICE, options=FAST)) as default,
        LocalRuntime(SERVICE, options=FAST) as explicit,
    ):
        handle = await loud.start("x", name="explicit")
        assert await explicit.execution(handle.id).result() == "X"
        with pytest.raises(ExecutionNotFound):
            await default.execution(handle.id).status()


async def test_the_runtime_opened_last_is_the_default_until_it_closes() -> None:
    """With two open runtimes the later one serves; once it closes, the earlier one does again."""
    first = LocalRuntime(SERVICE, options=FAST)
    second = LocalRuntime(SERVICE, options=FAST)

    async def start(name: str) -> str:
        return (await loud.start(name, name=name)).id

    async with opened_elsewhere(first):
        async with opened_elsewhere(second):
            later = await in_fresh_context(start("later"))
            assert await second.execution(later).result() == "LATER"
        earlier = await in_fresh_context(start("earlier"))
        assert await first.execution(earlier).result() == "EARLIER"
        with pytest.raises(ExecutionNotFound):
            await first.execution(later).status()
    with pytest.raises(RuntimeNotAvailable):
        await in_fresh_context(start("none"))
