"""Chaos: `eventual local` SIGKILLed at random moments under load, restarted each time.

A workflow with two tasks, a timer, a signal and a published event runs 500 times
while the server is killed (no cleanup) at least 20 times and started again on the
same file. Afterwards every execution ended with its result, no task attempt whose
success was recorded ran again, every event was published once and reached its
subscription, and a subscription ran twice for one event only across a kill.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import free_port

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

EXECUTIONS = 500
KILLS = 20

SERVICE = textwrap.dedent(
    '''
    """A workflow touching every kind of durable work, logging what really ran."""
    import asyncio
    import os
    import time
    from datetime import timedelta

    import attrs

    from eventual import event, signal, sleep, subscription, task, task_info, workflow

    LOG = os.environ["CHAOS_LOG"]


    def log(line: str) -> None:
        # O_APPEND: whole lines, kept by the kernel when the process is killed.
        with open(LOG, "a") as file:
            file.write(line + "\\n")


    @attrs.frozen
    class Done:
        n: int


    done = event("Done", Done)
    go = signal("go", int)


    @task
    async def double(n: int) -> int:
        attempt = task_info().token.rsplit("|", 1)[0]  # the attempt's id: without its mac
        log(f"start {attempt} {os.getpid()} {time.time()}")
        await asyncio.sleep(0.005)
        return 2 * n


    @workflow
    async def chaos(n: int) -> int:
        a = await double(n)
        await sleep(0.05)
        got = await go.expect(timeout=timedelta(minutes=10))
        b = await double(a + got)
        await done.publish(Done(n))
        return b


    @subscription(done)
    async def tally(placed: Done) -> None:
        log(f"handled {placed.n} {os.getpid()}")
    '''
)


# `eventual local` with its imports paid before it is told to go: under load an
# interpreter takes seconds to import, which would otherwise dominate every restart.
WARM = textwrap.dedent(
    """
    import sys

    import chaos_service
    import eventual_engine
    import eventual_messaging
    import uvicorn
    from eventual.plugins import get_plugin_manager
    from eventual_cli import cli

    get_plugin_manager()  # imports every installed plugin (a cloud SDK takes seconds)

    if sys.stdin.readline() == "go\\n":
        cli(args=sys.argv[1:], prog_name="eventual")
    """
)


class Server:
    """`eventual local` of the chaos service, killed and started again on one file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "local.db"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]),
            "CHAOS_LOG": str(folder / "chaos.log"),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.warm = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        args = [sys.executable, "-c", WARM, "local", "--service", "chaos_service"]
        args += ["--port", str(self.port), "--db", str(self.db), "--log-level", "warning"]
        return subprocess.Popen(
            args, cwd=self.folder, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
        )

    def start(self) -> None:
        """Start the server and wait until it answers; the next one warms up meanwhile."""
        self.process, self.warm = self.warm, self._spawn()
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        self.process.stdin.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "eventual local exited"
            try:
                if httpx.get(f"{self.url}/_eventual/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("eventual local did not become healthy in 60 s")

    def kill(self) -> None:
        """SIGKILL the server (no cleanup of any kind) unless it has stopped."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            assert self.process.wait(30) == -signal.SIGKILL

    def stop(self) -> None:
        """Stop the server with Ctrl-C."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(60) == 0

    def close(self) -> None:
        """Kill whatever still runs: the server after a failure, the unused warm one."""
        self.kill()
        self.warm.kill()
        self.warm.wait(30)
        if self.warm.stdin is not None:
            self.warm.stdin.close()


def _post(url: str, body: object) -> None:
    """POST until the server accepts it, through kills and restarts."""
    deadline = time.monotonic() + 120
    while True:
        try:
            response = httpx.post(url, json=body, timeout=10)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
            continue
        assert response.status_code in (200, 201, 202), response.text
        return


def _drive(server: Server, kills: list[int], failures: list[BaseException]) -> None:
    """Start and signal every execution, spreading them over the kills."""
    try:
        for n in range(EXECUTIONS):
            while n * KILLS // EXECUTIONS > len(kills):
                time.sleep(0.01)  # this share of the load waits for its kill
            name = str(n)
            _post(
                f"{server.url}/_eventual/executions",
                {"workflow": "chaos", "input": n, "name": name},
            )
            # A signal retried after a lost answer arrives twice; the second stays unread.
            _post(f"{server.url}/_eventual/executions/chaos/{name}/signals/go", n)
    except BaseException as exc:
        failures.append(exc)


def _wait_until(condition: str, check: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {condition}")
        time.sleep(0.2)


def _succeeded_attempts(url: str) -> dict[str, float]:
    """Check every result; return when each task attempt's success was recorded."""
    with httpx.Client(base_url=f"{url}/_eventual/executions", timeout=60) as client:
        page = client.get("", params={"workflow": "chaos", "limit": 1000}).json()
        results = {
            record["name"]: (record["status"], record["result"]) for record in page["executions"]
        }
        assert results == {str(n): ("SUCCEEDED", 6 * n) for n in range(EXECUTIONS)}

        def history(n: int) -> list[dict[str, Any]]:
            events: list[dict[str, Any]] = client.get(f"/chaos/{n}/history").json()["events"]
            return events

        with ThreadPoolExecutor(8) as pool:
            histories = list(pool.map(history, range(EXECUTIONS)))
    return {
        f"chaos/{n}|{e['seq']}|{e['attempt']}": datetime.fromisoformat(e["timestamp"]).timestamp()
        for n, events in enumerate(histories)
        for e in events
        if e["type"] == "TaskSucceeded"
    }


# Each of the 20 restarts waits for the server to come back: on a busy machine that
# alone can approach the suite's default five minutes.
@pytest.mark.timeout(900)
def test_sigkill_at_random_under_load_loses_and_repeats_nothing(tmp_path: Path) -> None:
    """Every execution ends right and no recorded work repeats, through 20 kills at random."""
    (tmp_path / "chaos_service.py").write_text(SERVICE)
    server = Server(tmp_path)
    rng = random.Random(18)
    began = time.monotonic()
    kills: list[int] = []
    failures: list[BaseException] = []
    try:
        server.start()
        driver = threading.Thread(target=_drive, args=(server, kills, failures), daemon=True)
        driver.start()
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.2, 1.0))
            server.kill()
            kills.append(1)
            server.start()
            print(f"kill {len(kills)} at {time.monotonic() - began:.1f} s", file=sys.stderr)
        driver.join(180)
        assert not failures, failures
        assert not driver.is_alive()

        def succeeded() -> int:
            with httpx.Client(timeout=10) as client:
                page = client.get(
                    f"{server.url}/_eventual/executions",
                    params={"workflow": "chaos", "status": "SUCCEEDED", "limit": 1000},
                ).json()
            return len(page["executions"])

        _wait_until("every execution succeeded", lambda: succeeded() == EXECUTIONS)
        log_path = tmp_path / "chaos.log"
        _wait_until(
            "every event was handled",
            lambda: (
                {
                    line.split()[1]
                    for line in log_path.read_text().splitlines()
                    if line.startswith("handled")
                }
                == {str(n) for n in range(EXECUTIONS)}
            ),
        )
        succeeded_at = _succeeded_attempts(server.url)
        server.stop()
    finally:
        server.close()

    starts: dict[str, list[tuple[str, float]]] = defaultdict(list)
    handled: dict[str, list[str]] = defaultdict(list)
    for line in log_path.read_text().splitlines():
        kind, key, pid, *rest = line.split()
        if kind == "start":
            starts[key].append((pid, float(rest[0])))
        else:
            handled[key].append(pid)
    assert set(starts) == set(succeeded_at)
    for token, runs in starts.items():
        # An attempt runs again only when a kill lost its outcome before it was recorded.
        assert len({pid for pid, _ in runs}) == len(runs), f"{token} ran twice in one process"
        late = [at for _, at in runs if at > succeeded_at[token] + 0.001]
        assert not late, f"{token} ran again after its success was recorded"
    for number, pids in handled.items():
        assert len(set(pids)) == len(pids), f"event {number} was handled twice by one process"

    with sqlite3.connect(server.db) as conn:
        published = conn.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM bus_events").fetchone()
        unsettled = conn.execute(
            "SELECT COUNT(*) FROM bus_deliveries WHERE status != 'done'"
        ).fetchone()
    conn.close()
    assert published == (EXECUTIONS, EXECUTIONS), "each event is published exactly once"
    assert unsettled == (0,)
    repeated = sum(len(runs) - 1 for runs in starts.values())
    redelivered = sum(len(pids) - 1 for pids in handled.values())
    print(f"{len(kills)} kills: {repeated} attempts and {redelivered} deliveries redone")
