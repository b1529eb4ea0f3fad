"""Three ``eventual local --backend postgres`` processes on one database share the work.

Each worker is the real command, started as a user would start it on three
machines. The service's tasks and its subscription append one line per run to a
log file (``O_APPEND``, so lines from several processes never interleave): the
attempt's token, or the event's order, and the process id. Executions are
started by a client that runs no worker, so every step crosses processes through
the queue and the LISTEN/NOTIFY wake-ups.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from eventual import ExecutionStatus, Service

# The workers are the `eventual` command; an install of eventual-postgres alone
# (nox's isolated session) has no eventual-cli to start them with.
pytest.importorskip("eventual_cli", reason="the worker processes are eventual-cli's command")

from eventual_engine import BackendClient
from eventual_postgres import PostgresBackend

SERVICE = """
import asyncio
import os

import attrs

from eventual import event, subscription, task, task_info, workflow

def record(line: str) -> None:
    with open(os.environ["WORKERS_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{line} {os.getpid()}\\n")


@attrs.frozen
class Shipped:
    order: int


shipped = event("Shipped", Shipped)


@task
async def step(order: int, part: int) -> int:
    await asyncio.sleep(0.05)
    record(f"task {task_info().token}")
    return order * part


@workflow
async def fulfil(order: int) -> int:
    total = 0
    for part in (1, 2, 3):
        total += await step(order, part)
    await shipped.publish(Shipped(order))
    return total


@subscription(shipped)
async def audit(event: Shipped) -> None:
    record(f"event {event.order}")
"""

ORDERS = 45
LOCAL = (sys.executable, "-m", "eventual_cli", "local", "--port", "0")


class Workers:
    """The worker processes of one test and the log they write."""

    def __init__(self, project: Path, dsn: str, log: Path) -> None:
        self.project = project
        self.dsn = dsn
        self.log = log
        self.processes: list[subprocess.Popen[str]] = []

    def start(self) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [*LOCAL, "--backend", "postgres", "--dsn", self.dsn, "--log-level", "warning"],
            cwd=self.project,
            env={**os.environ, "WORKERS_LOG": str(self.log), "PYTHONDONTWRITEBYTECODE": "1"},
            stdout=subprocess.PIPE,
            text=True,
        )
        self.processes.append(process)
        return process

    def lines(self) -> list[tuple[str, str, int]]:
        if not self.log.exists():
            return []
        rows = [line.split() for line in self.log.read_text().splitlines()]
        return [(kind, what, int(pid)) for kind, what, pid in rows]


async def _ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout=60)
    assert line.startswith("eventual local: service"), line


@pytest.fixture
def workers(tmp_path: Path, postgres_dsn: str, schema: str) -> Iterator[Workers]:
    """A project whose service runs on postgres, and its worker processes (stopped after)."""
    module = f"pgworkers_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(SERVICE)
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'workers'\n\n[tool.eventual]\n"
        f'service = "{module}"\npostgres-schema = "{schema}"\n'
        # A short lease, so a killed worker's claims lapse within the test.
        "lease_seconds = 3\n"
    )
    running = Workers(tmp_path, postgres_dsn, tmp_path / "runs.log")
    sys.path.insert(0, str(tmp_path))
    try:
        yield running
    finally:
        sys.path.remove(str(tmp_path))
        for process in running.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


@pytest.fixture
async def client(workers: Workers, postgres_dsn: str, schema: str) -> AsyncIterator[BackendClient]:
    """A client of the service on the shared database that runs no work itself."""
    module = next(workers.project.glob("pgworkers_*.py")).stem
    backend = await PostgresBackend(postgres_dsn, schema=schema, pool_size=2).open()
    try:
        yield BackendClient(Service.load(module), backend)
    finally:
        await backend.close()


async def _start_orders(client: BackendClient) -> list[str]:
    return [await client.start_execution("fulfil", n, f"order-{n}") for n in range(ORDERS)]


async def _eventually(done: Callable[[], Awaitable[bool]], seconds: float) -> None:
    """Wait until ``done()`` holds (other processes change what it reads), or fail."""
    for _ in range(int(seconds / 0.05)):
        if await done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not done after {seconds} s")


async def _all_done(client: BackendClient, ids: list[str], workers: Workers) -> None:
    async def finished() -> bool:
        for execution_id in ids:
            if await client.execution_status(execution_id) == ExecutionStatus.RUNNING:
                return False
        # The last events are delivered shortly after their executions end.
        return sum(1 for kind, _, _ in workers.lines() if kind == "event") >= len(ids)

    await _eventually(finished, 120)
    for n, execution_id in enumerate(ids):
        assert await client.execution_result(execution_id) == 6 * n


async def test_three_workers_run_each_attempt_once_and_deliver_each_event_once(
    workers: Workers, client: BackendClient
) -> None:
    """Every attempt runs once and every event is handled once, and all three workers take part."""
    started = [workers.start() for _ in range(3)]
    await asyncio.gather(*(_ready(p) for p in started))
    ids = await _start_orders(client)
    await _all_done(client, ids, workers)
    lines = workers.lines()
    tasks = Counter(what for kind, what, _ in lines if kind == "task")
    events = Counter(what for kind, what, _ in lines if kind == "event")
    assert len(tasks) == 3 * ORDERS
    assert set(tasks.values()) == {1}
    assert events == Counter(str(n) for n in range(ORDERS))
    assert {pid for kind, _, pid in lines if kind == "task"} == {p.pid for p in started}


async def test_a_worker_killed_midway_loses_nothing_and_repeats_only_what_it_held(
    workers: Workers, client: BackendClient
) -> None:
    """After a SIGKILL of one worker the others finish every execution; only its work reruns."""
    started = [workers.start() for _ in range(3)]
    await asyncio.gather(*(_ready(p) for p in started))
    victim = started[0]
    ids = await _start_orders(client)

    async def victim_working() -> bool:
        return sum(1 for _, _, pid in workers.lines() if pid == victim.pid) >= 5

    await _eventually(victim_working, 60)
    victim.kill()
    victim.wait()
    await _all_done(client, ids, workers)
    lines = workers.lines()
    for kind in ("task", "event"):
        runs: dict[str, list[int]] = {}
        for line_kind, what, pid in lines:
            if line_kind == kind:
                runs.setdefault(what, []).append(pid)
        expected = 3 * ORDERS if kind == "task" else ORDERS
        assert len(runs) == expected, kind
        # At least once: what the killed worker had done but not yet committed runs
        # again elsewhere; nothing else ever runs twice.
        for what, pids in runs.items():
            survivors = [pid for pid in pids if pid != victim.pid]
            assert len(survivors) <= 1, (kind, what, pids)
