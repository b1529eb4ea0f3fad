"""Throughput: executions per second of ``three_tasks_and_timer``, eventual and DBOS.

Each measurement runs in a fresh worker process on a fresh database file, so the
two systems never share a process, a file or background threads. Within a worker:
one sanity execution (checks what was recorded), ``warmup`` executions that are
not timed, then ``reps`` timed rounds of ``n`` executions; the median round counts.

Modes:

- ``sequential``: start one execution, wait for its result, start the next.
- ``concurrent``: ``concurrency`` clients, each starting an execution and waiting
  for its result in a loop, until ``n`` executions have finished (so
  ``concurrency`` executions are in flight at any time).

Run alone: ``python benchmarks/throughput.py --system ours --profile FULL --mode sequential``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH-RESULT "

RunOne = Callable[[int], Awaitable[int]]


async def _timed_round(run_one: RunOne, mode: str, n: int, concurrency: int, base: int) -> float:
    """Run ``n`` executions; return the seconds it took."""
    started = time.perf_counter()
    if mode == "sequential":
        for i in range(n):
            x = base + i
            if await run_one(x) != x + 3:
                raise AssertionError("wrong result")
    else:
        next_index = 0

        async def client() -> None:
            nonlocal next_index
            while next_index < n:
                x = base + next_index
                next_index += 1
                if await run_one(x) != x + 3:
                    raise AssertionError("wrong result")

        await asyncio.gather(*(client() for _ in range(min(concurrency, n))))
    return time.perf_counter() - started


async def _rounds(run_one: RunOne, cfg: dict[str, Any]) -> list[float]:
    mode, n, concurrency = cfg["mode"], cfg["n"], cfg["concurrency"]
    if cfg["warmup"]:
        await _timed_round(run_one, mode, cfg["warmup"], concurrency, base=1_000_000)
    return [
        await _timed_round(run_one, mode, n, concurrency, base=(rep + 2) * 1_000_000)
        for rep in range(cfg["reps"])
    ]


async def _ours(cfg: dict[str, Any], folder: Path) -> dict[str, Any]:
    from workloads import BenchRuntime, Profile, engine_options, three_tasks_and_timer

    from eventual.history import TaskSucceeded, TimerFired

    db = None if cfg["profile"] == "memory" else folder / "eventual.db"
    synchronous: Profile = "NORMAL" if db is None else cfg["profile"]
    options = engine_options(cfg["poll_interval"])
    async with BenchRuntime(db, synchronous, options) as rt:
        settings = await rt.sqlite_settings()
        handle = await rt.start(three_tasks_and_timer, 0)
        if await handle.result() != 3:
            raise AssertionError("wrong result")
        kinds = Counter(type(event).__name__ for event in await handle.history())
        if kinds[TaskSucceeded.__name__] != 3 or kinds[TimerFired.__name__] != 1:
            raise AssertionError(f"unexpected history: {dict(kinds)}")

        async def run_one(x: int) -> int:
            started = await rt.start(three_tasks_and_timer, x)
            return int(await started.result())

        seconds = await _rounds(run_one, cfg)
        return {"settings": settings, "recorded": dict(kinds), "seconds": seconds}


async def _dbos(cfg: dict[str, Any], folder: Path) -> dict[str, Any]:
    from workloads import DbosWorkload

    workload = DbosWorkload(folder / "dbos.sqlite", cfg["profile"])
    workload.launch()
    try:
        settings = workload.sqlite_settings()
        steps = await workload.steps_recorded(0)
        if len(steps) != 4:
            raise AssertionError(f"unexpected DBOS steps: {steps}")
        seconds = await _rounds(workload.run_one, cfg)
        return {"settings": settings, "recorded": Counter(steps), "seconds": seconds}
    finally:
        workload.destroy()


async def _worker(cfg: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="eventual-bench-") as tmp:
        run = _ours if cfg["system"] == "ours" else _dbos
        result = await run(cfg, Path(tmp))
    seconds = result["seconds"]
    rates = [cfg["n"] / s for s in seconds]
    return {
        **cfg,
        "settings": result["settings"],
        "recorded": dict(result["recorded"]),
        "seconds": seconds,
        "per_second": rates,
        "median_per_second": statistics.median(rates),
    }


def measure(
    system: str,
    profile: str,
    mode: str,
    *,
    n: int,
    reps: int,
    warmup: int,
    concurrency: int = 100,
    poll_interval: float | None = None,
    timeout: float = 1800,
) -> dict[str, Any]:
    """Run one throughput measurement in a fresh worker process and return its result."""
    cfg = {
        "system": system,
        "profile": profile,
        "mode": mode,
        "n": n,
        "reps": reps,
        "warmup": warmup,
        "concurrency": concurrency if mode == "concurrent" else 1,
        "poll_interval": poll_interval,
    }
    return run_worker(Path(__file__), cfg, timeout)


def run_worker(script: Path, cfg: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``script --worker CFG`` in a new interpreter; return the JSON it reports."""
    proc = subprocess.run(
        [sys.executable, str(script), "--worker", json.dumps(cfg)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return dict(json.loads(line[len(RESULT_PREFIX) :]))
    raise RuntimeError(
        f"benchmark worker {script.name} {cfg} failed (exit {proc.returncode}):\n"
        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--system", choices=["ours", "dbos"], default="ours")
    parser.add_argument("--profile", choices=["FULL", "NORMAL", "memory"], default="FULL")
    parser.add_argument("--mode", choices=["sequential", "concurrent"], default="sequential")
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--poll-interval", type=float, default=None)
    args = parser.parse_args()
    if args.worker is not None:
        result = asyncio.run(_worker(json.loads(args.worker)))
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return
    result = measure(
        args.system,
        args.profile,
        args.mode,
        n=args.n,
        reps=args.reps,
        warmup=args.warmup,
        concurrency=args.concurrency,
        poll_interval=args.poll_interval,
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
