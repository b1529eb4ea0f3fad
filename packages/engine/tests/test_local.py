"""LocalRuntime: a whole service in the caller's process, in memory or on SQLite."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from eventual import (
    EventualError,
    ExecutionHandle,
    ExecutionStatus,
    Service,
    signal,
    sleep,
    task,
    workflow,
)
from eventual_engine import EngineOptions, LocalRuntime

ran: list[str] = []


@task
async def record(value: str) -> str:
    ran.append(value)
    return value.upper()


go = signal("go", str)


@workflow
async def pipeline(name: str) -> list[str]:
    first = await record(name)
    await sleep(timedelta(milliseconds=20))
    second = await record(await go.expect())
    return [first, second]


@workflow
async def quick(name: str) -> str:
    return await record(name)


SERVICE = Service.from_definitions("local", [record, go, pipeline, quick])
FAST = EngineOptions(poll_interval=0.01)


async def _until_waiting_for_the_signal(handle: ExecutionHandle[list[str]]) -> None:
    """Return once the pipeline's timer has fired: it waits for ``go`` from then on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while "TimerFired" not in [event.type for event in await handle.history()]:
        assert loop.time() < deadline, "the pipeline's timer never fired"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
async def test_runs_a_workflow_end_to_end(backend: str, tmp_path: Path) -> None:
    """Tasks, a real timer and a signal all run in the background of the caller's process."""
    ran.clear()
    db = tmp_path / "state.db" if backend == "sqlite" else None
    async with LocalRuntime(SERVICE, db=db, options=FAST) as rt:
        handle = await rt.start(pipeline, "a", name="one")
        await _until_waiting_for_the_signal(handle)
        await handle.signal(go, "b")
        assert await asyncio.wait_for(handle.result(), 10) == ["A", "B"]
    assert ran == ["a", "b"]


async def test_ambient_client_inside_the_block(tmp_path: Path) -> None:
    """Inside `async with`, wf.start and sig.send use the runtime without passing it."""
    async with LocalRuntime(SERVICE, db=tmp_path / "s.db", options=FAST) as rt:
        handle = await quick.start("x")
        assert await asyncio.wait_for(handle.result(), 10) == "X"
        assert await rt.execution(handle.id).status() is ExecutionStatus.SUCCEEDED


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    """An execution waiting on a signal continues after the runtime is restarted."""
    db = tmp_path / "restart.db"
    async with LocalRuntime(SERVICE, db=db, options=FAST) as rt:
        handle = await rt.start(pipeline, "first", name="durable")
        await _until_waiting_for_the_signal(handle)
        assert await handle.status() is ExecutionStatus.RUNNING
    async with LocalRuntime(SERVICE, db=db, options=FAST) as rt:
        again = rt.execution("pipeline/durable")
        await again.signal(go, "second")
        assert await asyncio.wait_for(again.result(), 10) == ["FIRST", "SECOND"]
        history = await again.history()
    assert [e.type for e in history].count("WorkflowStarted") == 1


async def test_unknown_backend_is_a_clear_error() -> None:
    """Naming a backend no plugin provides fails with the known names."""
    with pytest.raises(Exception, match="memory"):
        async with LocalRuntime(SERVICE, backend="nope"):
            pass


def test_engine_settings_tune_the_engine() -> None:
    """lease_seconds and poll_interval in settings become the engine's options."""
    from eventual_engine._local import engine_options

    assert engine_options({}) is None
    tuned = engine_options({"lease_seconds": "2.5", "poll_interval": 0.01})
    assert tuned is not None
    assert (tuned.lease, tuned.poll_interval) == (timedelta(seconds=2.5), 0.01)


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan", "inf"])
def test_bad_engine_settings_name_the_setting(value: str) -> None:
    """A lease that is not a positive number of seconds is refused by name."""
    with pytest.raises(EventualError, match=f"lease_seconds must be a positive number.*{value!r}"):
        LocalRuntime(SERVICE, settings={"lease_seconds": value})


def test_task_settings_size_the_task_worker() -> None:
    """task_concurrency and task_threads in settings become the engine's task limits."""
    from eventual_engine._local import engine_options

    tuned = engine_options({"task_concurrency": "200", "task_threads": 12})
    assert tuned is not None
    assert (tuned.task_concurrency, tuned.task_threads) == (200, 12)
    assert tuned.lease == EngineOptions().lease


@pytest.mark.parametrize("value", ["many", "0", "-3", "2.5", True])
def test_bad_task_settings_name_the_setting(value: object) -> None:
    """A task limit that is not a positive whole number is refused by name."""
    with pytest.raises(EventualError, match=f"task_threads must be a whole number.*{value!r}"):
        LocalRuntime(SERVICE, settings={"task_threads": value})


TWO_ENGINES_CHILD = """
import asyncio, os, sys
from eventual import Service, signal, task, workflow
from eventual_engine import EngineOptions, LocalRuntime

ROLE, DB, LOG, N = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
go = signal("go", int)


@task
async def step(execution: str, n: int) -> int:
    with open(LOG, "a") as f:
        f.write(f"{execution} {n} {ROLE}\\n")
    return n


@workflow
async def flow(name: str) -> int:
    a = await step(name, 1)
    b = await step(name, 2)
    extra = await go.expect()
    c = await step(name, 3)
    return a + b + c + extra


SERVICE = Service.from_definitions("two", [go, step, flow])


async def main() -> None:
    options = EngineOptions(poll_interval=0.01)
    async with LocalRuntime(SERVICE, db=DB, options=options) as rt:
        if ROLE == "starter":
            for i in range(N):
                await rt.start(flow, f"e{i}", name=f"e{i}")
        else:
            sent = set()
            while len(sent) < N:
                for i in range(N):
                    if i in sent:
                        continue
                    try:
                        await rt.execution(f"flow/e{i}").signal(go, 100)
                        sent.add(i)
                    except Exception:
                        pass
                await asyncio.sleep(0.01)
        for i in range(N):
            assert await rt.execution(f"flow/e{i}").result() == 106


asyncio.run(main())
"""


def test_two_engines_on_one_file_finish_every_execution_once(tmp_path: Path) -> None:
    """Two processes serving one SQLite file (one starts, one signals) run each step once."""
    import subprocess
    import sys
    from collections import Counter

    from eventual.history import SequencedEvent, TaskScheduled, TaskSucceeded
    from eventual_engine._sqlite import SqliteBackend

    script = tmp_path / "child.py"
    script.write_text(TWO_ENGINES_CHILD)
    db, log, n = tmp_path / "shared.db", tmp_path / "runs.log", 40

    async def create_schema() -> None:
        async with SqliteBackend(db):
            pass

    asyncio.run(create_schema())  # once, before both start
    children = [
        subprocess.Popen([sys.executable, str(script), role, str(db), str(log), str(n)])
        for role in ("starter", "signaller")
    ]
    assert [child.wait(120) for child in children] == [0, 0]
    runs = Counter(" ".join(line.split()[:2]) for line in log.read_text().splitlines())
    assert len(runs) == 3 * n
    assert set(runs.values()) == {1}, "a task ran twice"
    roles = {line.split()[2] for line in log.read_text().splitlines()}
    assert roles == {"starter", "signaller"}, "both processes should have run tasks"

    async def check() -> None:
        async with SqliteBackend(db) as backend:
            for i in range(n):
                history = await backend.executions.history(f"flow/e{i}")
                scheduled = [e.seq for e in history if isinstance(e, TaskScheduled)]
                done = [e.seq for e in history if isinstance(e, TaskSucceeded)]
                assert scheduled == done == [1, 2, 3]
                sequenced = Counter(
                    (type(e).__name__, e.seq) for e in history if isinstance(e, SequencedEvent)
                )
                assert set(sequenced.values()) == {1}

    asyncio.run(check())
