"""Scaling: one execution of ``n_tasks(n)`` (n sequential tasks) for growing n.

If the engine's cost per step grew with the history (replaying it, re-reading it,
copying it), time per task would grow with n and the total would be O(n²). The
table reports, for each n, the median total seconds, microseconds per task and
the ratio of that to the smallest n: flat (about 1.0) means O(n) in total.

Runs on eventual's SQLite backend with its default durability (WAL,
synchronous=NORMAL), in a fresh worker process, a fresh database per n. It also
reports the orchestrator's replays beyond each execution's first step (cache
misses, which make a step cost O(history)): 0 expected.

A size whose estimated time (from the previous size's time per task) exceeds the
budget is skipped and reported as such.

Run alone: ``python benchmarks/scaling.py --sizes 100 1000``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from throughput import RESULT_PREFIX, run_worker


def reps_for(n: int, quick: bool) -> int:
    """Repetitions per size: more for small sizes, one for the largest."""
    if quick:
        return 1
    return max(1, min(5, 3_000 // n))


async def _one_size(folder: Path, n: int, reps: int, poll_interval: float | None) -> dict[str, Any]:
    from workloads import BenchRuntime, engine_options, n_tasks

    seconds: list[float] = []
    replays = 0
    options = engine_options(poll_interval)
    async with BenchRuntime(folder / f"scaling-{n}.db", "NORMAL", options) as rt:
        settings = await rt.sqlite_settings()
        warm = await rt.start(n_tasks, 10)  # imports, schema and caches warmed
        if await warm.result() != 10:
            raise AssertionError("wrong result")
        for _ in range(reps):
            started = time.perf_counter()
            handle = await rt.start(n_tasks, n)
            if await handle.result() != n:
                raise AssertionError("wrong result")
            seconds.append(time.perf_counter() - started)
        # Each execution's first step builds its instance (a replay of one event);
        # anything beyond that is a cache miss replaying a longer history.
        replays = rt.engine.orchestrator.replays - (1 + reps)
        history_length = len(await handle.history())
    return {
        "n": n,
        "reps": reps,
        "seconds": seconds,
        "median_seconds": statistics.median(seconds),
        "us_per_task": statistics.median(seconds) / n * 1e6,
        "history_events": history_length,
        "extra_replays": replays,
        "settings": settings,
    }


async def _worker(cfg: dict[str, Any]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    budget = cfg["budget"]
    with tempfile.TemporaryDirectory(prefix="eventual-bench-") as tmp:
        for n in cfg["sizes"]:
            reps = reps_for(n, cfg["quick"])
            if rows and budget is not None:
                estimate = rows[-1]["us_per_task"] / 1e6 * n * reps
                if estimate > budget:
                    skipped.append({"n": n, "estimated_seconds": estimate})
                    continue
            rows.append(await _one_size(Path(tmp), n, reps, cfg["poll_interval"]))
    base = rows[0]["us_per_task"] if rows else 1.0
    for row in rows:
        row["ratio"] = row["us_per_task"] / base
    return {**cfg, "rows": rows, "skipped": skipped}


def measure(
    sizes: list[int],
    *,
    quick: bool = False,
    budget: float | None = None,
    poll_interval: float | None = None,
    timeout: float = 3600,
) -> dict[str, Any]:
    """Run the scaling table in a fresh worker process and return its result."""
    cfg = {"sizes": sizes, "quick": quick, "budget": budget, "poll_interval": poll_interval}
    return run_worker(Path(__file__), cfg, timeout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1_000, 10_000])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--budget", type=float, default=None, help="seconds per size, at most")
    parser.add_argument("--poll-interval", type=float, default=None)
    args = parser.parse_args()
    if args.worker is not None:
        result = asyncio.run(_worker(json.loads(args.worker)))
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return
    result = measure(
        args.sizes, quick=args.quick, budget=args.budget, poll_interval=args.poll_interval
    )
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
