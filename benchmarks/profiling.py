"""Profile the sequential throughput benchmark: where an execution's time goes.

Runs ``three_tasks_and_timer`` executions one after the other (start, wait for the
result) on eventual's SQLite backend for ``--seconds`` under ``cProfile``, and
counts the SQLite transactions the backend's thread ran (group commits) with the
time that thread was busy. Prints:

- executions per second, SQLite transactions and jobs per execution, and how
  much of the wall time the event loop thread and the SQLite thread were busy
  (the rest is waiting: for a poll interval, a wake-up, a disk flush);
- the engine's top functions by cumulative time (``eventual`` and
  ``eventual_engine`` files only), and the top functions overall by own time.

cProfile sees the event loop thread only; the SQLite thread is timed by wrapping
its batch function. A coroutine's cumulative time counts only while it runs, not
while it awaits.

Usage: ``python benchmarks/profiling.py [--seconds 90] [--profile FULL] [--top 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

from workloads import BenchRuntime, Profile, engine_options, three_tasks_and_timer


class _BatchMeter:
    """Counts and times the SQLite thread's transactions (one per group commit)."""

    def __init__(self) -> None:
        self.transactions = 0
        self.jobs = 0
        self.busy = 0.0
        self.kinds: Counter[str] = Counter()
        self._lock = threading.Lock()

    def install(self) -> None:
        from eventual import _sqlite as _database

        original = _database._run_batch

        def run_batch(conn: Any, batch: list[Any]) -> Any:
            started = time.perf_counter()
            try:
                return original(conn, batch)
            finally:
                with self._lock:
                    self.transactions += 1
                    self.jobs += len(batch)
                    self.busy += time.perf_counter() - started
                    self.kinds.update(_job_name(job) for job in batch)

        _database._run_batch = run_batch


def _job_name(job: Any) -> str:
    """``SqliteQueue.claim`` for a job whose function is ``SqliteQueue.claim.<locals>.run``."""
    name = getattr(job.fn, "__qualname__", repr(job.fn))
    name = name.split(".<locals>", 1)[0]
    return f"{name} ({'write' if job.write else 'read'})"


def _where(key: tuple[str, int, str]) -> str:
    filename, _line, function = key
    for marker in ("/eventual_engine/", "/eventual/"):
        if marker in filename:
            return f"{marker.strip('/')}/{filename.split(marker, 1)[1]}:{function}"
    if filename.startswith("~") or filename.startswith("<"):
        return function
    return f"{Path(filename).name}:{function}"


def _ours(key: tuple[str, int, str]) -> bool:
    return "/eventual_engine/" in key[0] or "/eventual/" in key[0]


async def _run(seconds: float, profile: str, poll_interval: float | None) -> dict[str, Any]:
    meter = _BatchMeter()
    meter.install()
    with tempfile.TemporaryDirectory(prefix="eventual-bench-") as tmp:
        db = None if profile == "memory" else Path(tmp) / "profile.db"
        synchronous: Profile = "NORMAL" if db is None else cast(Profile, profile)
        async with BenchRuntime(db, synchronous, engine_options(poll_interval)) as rt:
            for i in range(5):  # warm up
                await (await rt.start(three_tasks_and_timer, i)).result()
            meter.__init__()  # type: ignore[misc]
            profiler = cProfile.Profile()
            cpu_started = time.thread_time()
            started = time.perf_counter()
            count = 0
            profiler.enable()
            while time.perf_counter() - started < seconds:
                handle = await rt.start(three_tasks_and_timer, count)
                await handle.result()
                count += 1
            profiler.disable()
            wall = time.perf_counter() - started
            loop_cpu = time.thread_time() - cpu_started
    return {"profiler": profiler, "count": count, "wall": wall, "cpu": loop_cpu, "meter": meter}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--profile", choices=["FULL", "NORMAL", "memory"], default="FULL")
    parser.add_argument("--poll-interval", type=float, default=None)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    out = asyncio.run(_run(args.seconds, args.profile, args.poll_interval))
    count, wall, meter = out["count"], out["wall"], out["meter"]
    per = max(count, 1)
    print(
        f"sequential three_tasks_and_timer, profile {args.profile}, poll_interval "
        f"{args.poll_interval if args.poll_interval is not None else 'default'}: "
        f"{count} executions in {wall:.1f} s = {count / wall:.1f}/s "
        f"({wall / per * 1e3:.1f} ms each)"
    )
    print(
        f"SQLite thread: {meter.transactions / per:.1f} transactions and {meter.jobs / per:.1f} "
        f"jobs per execution, busy {meter.busy / wall:.0%} of the wall time "
        f"({meter.busy / per * 1e3:.2f} ms per execution)"
    )
    print(
        f"event loop thread: CPU busy {out['cpu'] / wall:.0%} of the wall time "
        f"({out['cpu'] / per * 1e3:.2f} ms per execution, profiler overhead included)"
    )
    print("  SQLite jobs per execution, by caller:")
    for name, jobs in meter.kinds.most_common(12):
        print(f"    {jobs / per:6.2f}  {name}")
    stats = pstats.Stats(out["profiler"])
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    entries = [(key, value) for key, value in raw.items()]
    print(f"\nTop {args.top} eventual functions by cumulative time (CPU while running):")
    print(f"  {'cumulative s':>12} {'ms/exec':>8} {'own s':>7} {'calls':>9}  function")
    ours = sorted((e for e in entries if _ours(e[0])), key=lambda e: e[1][3], reverse=True)
    for key, (_cc, calls, own, cumulative, _callers) in ours[: args.top]:
        print(
            f"  {cumulative:>12.2f} {cumulative / per * 1e3:>8.2f} {own:>7.2f} {calls:>9}  "
            f"{_where(key)}"
        )
    print(f"\nTop {args.top} functions overall by own time:")
    print(f"  {'own s':>7} {'ms/exec':>8} {'calls':>9}  function")
    overall = sorted(entries, key=lambda e: e[1][2], reverse=True)
    for key, (_cc, calls, own, _cumulative, _callers) in overall[: args.top]:
        print(f"  {own:>7.2f} {own / per * 1e3:>8.2f} {calls:>9}  {_where(key)}")


if __name__ == "__main__":
    main()
