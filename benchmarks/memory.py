"""Memory: peak RSS of a process holding N executions that wait on a one-hour timer.

A fresh worker process opens ``LocalRuntime`` on a fresh SQLite file (default
durability), runs one execution to load every module, and records its RSS (the
baseline). It then starts N executions of ``wait_an_hour`` and waits until the
engine has processed every ``WorkflowStarted`` (the inbound queue is empty, so
each execution has committed its timer and is waiting). It reports:

- peak RSS of the process (``ru_maxrss``), which includes the start-up burst;
- RSS once all N wait (after a garbage collection);
- (peak - baseline) / N and (waiting - baseline) / N: memory per execution.

Live workflow instances stay in the engine's cache (``EngineOptions.cache_size``,
10,000 by default), so with N up to the cache size every waiting execution keeps
its coroutine in memory; beyond it, instances are dropped and replayed on demand.

Run alone: ``python benchmarks/memory.py -n 10000``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from throughput import RESULT_PREFIX, run_worker


def _rss_bytes() -> int:
    """Current resident set size (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize()
    return int(psutil.Process().memory_info().rss)


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


async def _worker(cfg: dict[str, Any]) -> dict[str, Any]:
    from workloads import BenchRuntime, wait_an_hour

    n = cfg["n"]
    with tempfile.TemporaryDirectory(prefix="eventual-bench-") as tmp:
        async with BenchRuntime(Path(tmp) / "memory.db", "NORMAL") as rt:
            settings = await rt.sqlite_settings()
            warm = await rt.start(wait_an_hour, -1)
            await _drain(rt)
            gc.collect()
            baseline = _rss_bytes()
            started = time.perf_counter()
            chunk = 500
            for first in range(0, n, chunk):
                await asyncio.gather(
                    *(rt.start(wait_an_hour, i) for i in range(first, min(first + chunk, n)))
                )
            await _drain(rt)
            seconds = time.perf_counter() - started
            gc.collect()
            waiting = _rss_bytes()
            peak = _peak_rss_bytes()
            status = (await warm.status()).value
            next_due = await rt.engine.backend.timers.next_due()
            cache = getattr(rt.engine.orchestrator, "_cache", None)
            live = len(cache) if cache is not None else None
    if next_due is None:
        raise AssertionError("no timer is waiting")
    return {
        **cfg,
        "settings": settings,
        "status": status,
        "seconds_to_start_all": seconds,
        "live_instances": live,
        "baseline_rss_bytes": baseline,
        "waiting_rss_bytes": waiting,
        "peak_rss_bytes": peak,
        "peak_kb_per_execution": (peak - baseline) / n / 1024,
        "waiting_kb_per_execution": (waiting - baseline) / n / 1024,
    }


async def _drain(rt: Any) -> None:
    """Wait until every queued inbound message was processed (polls the backend)."""
    while True:
        if not await rt.engine.backend.queue.pending():
            return
        await asyncio.sleep(0.05)


def measure(n: int, *, timeout: float = 1800) -> dict[str, Any]:
    """Measure memory for ``n`` waiting executions in a fresh worker process."""
    return run_worker(Path(__file__), {"n": n}, timeout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("-n", type=int, default=10_000)
    args = parser.parse_args()
    if args.worker is not None:
        result = asyncio.run(_worker(json.loads(args.worker)))
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return
    json.dump(measure(args.n), sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
