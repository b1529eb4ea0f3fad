"""Crash safety: SIGKILL a process running a workflow at several points, restart, check.

Each scenario runs a child process with ``LocalRuntime`` on one SQLite file. The
child is killed (SIGKILL, no cleanup) at a chosen point; a second child on the same
file resumes. The execution must end with the same result, completed tasks must not
run again, and the history must hold every event exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from eventual.history import (
    HistoryEvent,
    SequencedEvent,
    TaskScheduled,
    TaskStarted,
    TaskSucceeded,
    TimerFired,
    TimerScheduled,
    WorkflowStarted,
    WorkflowSucceeded,
)
from eventual_engine._sqlite import SqliteBackend

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

CHILD = textwrap.dedent(
    '''
    """A service run until it is killed, then again until it finishes."""
    import asyncio
    import os
    import signal
    from datetime import timedelta

    from eventual import Service, sleep, task, workflow
    from eventual.history import TaskSucceeded
    from eventual_engine import EngineOptions, LocalRuntime
    from eventual_engine._orchestrator import Orchestrator

    LOG = os.environ["CRASH_LOG"]
    MODE = os.environ["CRASH_MODE"]
    MARK = LOG + ".crashed"


    def log(line):
        with open(LOG, "a") as f:
            f.write(line + "\\n")
            f.flush()
            os.fsync(f.fileno())


    def crash_once():
        if not os.path.exists(MARK):
            open(MARK, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)


    @task
    async def step(n: int) -> int:
        log(f"run {n}")
        if MODE == "during-task" and n == 2:
            crash_once()
        return n * 10


    @workflow
    async def flow(_: None) -> int:
        a = await step(1)
        b = await step(2)
        await sleep(timedelta(seconds=1.5 if MODE == "timer" else 0))
        c = await step(3)
        return a + b + c


    if MODE == "after-completion":
        # Die after step 1's completion is queued, before the step that applies it
        # commits. Outcomes go through the queue here: the in-place path is off.
        original = Orchestrator.process

        async def process(self, batch):
            if any(isinstance(m.event, TaskSucceeded) and m.event.seq == 1 for m in batch.messages):
                crash_once()
            return await original(self, batch)

        async def not_in_place(self, *args):
            return None

        Orchestrator.process = process
        Orchestrator.apply_outcome = not_in_place

    if MODE == "before-commit":
        # Die once step 1 has returned, before its outcome is committed in place.
        original_apply = Orchestrator.apply_outcome

        async def apply_outcome(self, execution_id, token, event, cancel_timers):
            if isinstance(event, TaskSucceeded) and event.seq == 1:
                crash_once()
            return await original_apply(self, execution_id, token, event, cancel_timers)

        Orchestrator.apply_outcome = apply_outcome

    if MODE == "timer":
        # Die once the step that schedules the 1.5 s timer is stored, before it fires.
        from eventual_engine._sqlite._executions import SqliteExecutions

        original_commit = SqliteExecutions.commit

        async def commit(self, step):
            await original_commit(self, step)
            if step.timers:
                crash_once()

        SqliteExecutions.commit = commit


    async def main():
        lease = timedelta(seconds=float(os.environ.get("CRASH_LEASE", "0.5")))
        options = EngineOptions(lease=lease, poll_interval=0.01)
        service = Service.from_definitions("crash", [step, flow])
        async with LocalRuntime(service, db=os.environ["CRASH_DB"], options=options) as rt:
            handle = await rt.start(flow, None, name="x")
            log(f"result {await handle.result()}")


    asyncio.run(main())
    '''
)


def _run_child(tmp_path: Path, mode: str, lease: float = 0.5) -> subprocess.Popen[bytes]:
    script = tmp_path / "crash_child.py"
    script.write_text(CHILD)
    env = {
        **os.environ,
        "CRASH_LOG": str(tmp_path / "runs.log"),
        "CRASH_MODE": mode,
        "CRASH_DB": str(tmp_path / "state.db"),
        "CRASH_LEASE": str(lease),
    }
    return subprocess.Popen([sys.executable, str(script)], env=env)


def _log(tmp_path: Path) -> list[str]:
    path = tmp_path / "runs.log"
    return path.read_text().splitlines() if path.exists() else []


async def _history(tmp_path: Path) -> list[HistoryEvent]:
    backend = await SqliteBackend(tmp_path / "state.db").open()
    try:
        return await backend.executions.history("flow/x")
    finally:
        await backend.close()


def _check_history(history: list[HistoryEvent]) -> None:
    kinds = Counter(type(e) for e in history)
    assert kinds[WorkflowStarted] == 1
    assert kinds[WorkflowSucceeded] == 1
    scheduled = [e.seq for e in history if isinstance(e, TaskScheduled | TimerScheduled)]
    assert scheduled == sorted(set(scheduled)), f"duplicated calls: {scheduled}"
    completions = Counter(e.seq for e in history if isinstance(e, TaskSucceeded | TimerFired))
    assert all(count == 1 for count in completions.values()), completions
    assert set(completions) == set(scheduled)
    # Each completed attempt also records when it started, once.
    assert kinds[TaskStarted] == kinds[TaskSucceeded]
    sequenced = [e for e in history if isinstance(e, SequencedEvent) and type(e) is not TaskStarted]
    assert len(sequenced) == 2 * len(scheduled)


@pytest.mark.parametrize(
    ("mode", "expected_runs"),
    [
        ("during-task", ["run 1", "run 2", "run 2", "run 3"]),
        ("after-completion", ["run 1", "run 2", "run 3"]),
        # The outcome was never written: the attempt runs again (at least once).
        ("before-commit", ["run 1", "run 1", "run 2", "run 3"]),
        ("timer", ["run 1", "run 2", "run 3"]),
    ],
)
async def test_sigkill_and_restart(tmp_path: Path, mode: str, expected_runs: list[str]) -> None:
    """After a SIGKILL and a restart the execution finishes once, with the same result."""
    first = _run_child(tmp_path, mode)
    assert await asyncio.to_thread(first.wait, 60) == -signal.SIGKILL
    assert not any(line.startswith("result") for line in _log(tmp_path))

    second = _run_child(tmp_path, mode)
    assert await asyncio.to_thread(second.wait, 60) == 0
    log = _log(tmp_path)
    assert log[-1] == "result 60"
    assert [line for line in log if line.startswith("run")] == expected_runs
    _check_history(await _history(tmp_path))


async def test_restart_resumes_a_dead_process_work_before_its_lease_lapses(tmp_path: Path) -> None:
    """A restart after SIGKILL reruns the killed task at once, not after its hour-long lease."""
    first = _run_child(tmp_path, "during-task", lease=3600)
    assert await asyncio.to_thread(first.wait, 60) == -signal.SIGKILL
    second = _run_child(tmp_path, "during-task", lease=3600)
    try:
        # Waiting for the lease to lapse would take an hour: the restart ends well before.
        assert await asyncio.to_thread(second.wait, 60) == 0
    finally:
        second.kill()
    log = _log(tmp_path)
    assert log[-1] == "result 60"
    assert [line for line in log if line.startswith("run")] == ["run 1", "run 2", "run 2", "run 3"]
