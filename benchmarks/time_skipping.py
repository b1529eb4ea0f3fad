"""Time skipping: a workflow that sleeps an hour 1,000 times, then runs one task, in virtual time.

The workload is the same on both sides: a loop of N durable one-hour waits
followed by one task (a step) that adds one, so an execution spans N hours of
virtual time and must record N timers.

- eventual: ``TestEnvironment`` (the production engine on the in-memory backend
  with a ``ManualClock``); the test starts the execution and calls
  ``env.advance(timedelta(hours=N))``, which fires each timer at its own instant
  and settles the step it causes before moving on.
- AWS: the local test runner of the AWS Lambda durable execution SDK
  (``aws-durable-execution-sdk-python-testing``), ``DurableFunctionTestRunner``
  with ``skip_time=True`` (its virtual clock skips each armed wait), running the
  same loop of ``context.wait(Duration.from_hours(1))`` and one ``context.step``.

Each side runs in its own fresh Python process; each round builds a fresh
environment (runner), so set-up is part of the time, as it is in a test. Reported:
wall time per execution (median of the rounds), the process CPU time of that
round (threads included: the AWS runner works on threads and waits in between),
per-timer cost (wall time over N) and the timers each side recorded (a sanity
check that N waits happened).

Run alone: ``python benchmarks/time_skipping.py [-n 1000] [--rounds 3] [--aws-rounds 1]
[--system ours|aws]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from throughput import RESULT_PREFIX, run_worker

SYSTEMS = ("ours", "aws")


async def _ours(n: int, rounds: int) -> dict[str, Any]:
    from datetime import timedelta

    from eventual import Service, sleep, task, workflow
    from eventual.history import TimerFired
    from eventual_testing import TestEnvironment

    @task
    async def add_one(x: int) -> int:
        return x + 1

    @workflow
    async def hourly(count: int) -> int:
        for _ in range(count):
            await sleep(timedelta(hours=1))
        return await add_one(count)

    service = Service.from_definitions("time_skipping", [add_one, hourly])
    seconds: list[float] = []
    cpu: list[float] = []
    timers = 0
    for _ in range(rounds):
        started, cpu_started = time.perf_counter(), time.process_time()
        async with TestEnvironment(service) as env:
            handle = await env.start(hourly, n)
            await env.advance(timedelta(hours=n))
            result = await handle.result()
            elapsed = time.perf_counter() - started
            cpu.append(time.process_time() - cpu_started)
            timers = sum(isinstance(e, TimerFired) for e in await handle.history())
            virtual = env.now - TestEnvironment.DEFAULT_START
        if result != n + 1 or virtual != timedelta(hours=n):
            raise AssertionError(f"wrong result {result!r} after {virtual}")
        seconds.append(elapsed)
    return {"seconds": seconds, "cpu_seconds": cpu, "timers_recorded": timers}


def _aws(n: int, rounds: int) -> dict[str, Any]:
    from aws_durable_execution_sdk_python import (
        DurableContext,
        StepContext,
        durable_execution,
        durable_step,
    )
    from aws_durable_execution_sdk_python.config import Duration
    from aws_durable_execution_sdk_python_testing import DurableFunctionTestRunner

    @durable_step
    def add_one(step_context: StepContext, x: int) -> int:
        return x + 1

    @durable_execution
    def hourly(event: Any, context: DurableContext) -> int:
        for _ in range(n):
            context.wait(Duration.from_hours(1))
        return context.step(add_one(n))

    seconds: list[float] = []
    cpu: list[float] = []
    waits = 0
    for _ in range(rounds):
        started, cpu_started = time.perf_counter(), time.process_time()
        with DurableFunctionTestRunner(handler=hourly, skip_time=True) as runner:
            outcome = runner.run(input="{}", execution_timeout=3600)
        elapsed = time.perf_counter() - started
        cpu.append(time.process_time() - cpu_started)
        if str(outcome.result) != str(n + 1):
            raise AssertionError(f"wrong result {outcome.result!r} ({outcome.status})")
        waits = sum(type(op).__name__ == "WaitOperation" for op in outcome.get_all_operations())
        seconds.append(elapsed)
    return {"seconds": seconds, "cpu_seconds": cpu, "timers_recorded": waits}


def _versions(system: str) -> dict[str, str]:
    from importlib import metadata

    names = (
        ("eventual-testing", "eventual-engine")
        if system == "ours"
        else ("aws-durable-execution-sdk-python-testing", "aws-durable-execution-sdk-python")
    )
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _worker(cfg: dict[str, Any]) -> dict[str, Any]:
    system, n, rounds = cfg["system"], cfg["n"], cfg["rounds"]
    try:
        measured = asyncio.run(_ours(n, rounds)) if system == "ours" else _aws(n, rounds)
    except ImportError as error:
        return {"system": system, "n": n, "unavailable": f"{type(error).__name__}: {error}"}
    median = statistics.median(measured["seconds"])
    return {
        "system": system,
        "n": n,
        "rounds": rounds,
        "versions": _versions(system),
        **measured,
        "median_seconds": median,
        "median_cpu_seconds": statistics.median(measured["cpu_seconds"]),
        "us_per_timer": median / n * 1e6,
    }


def measure(n: int, rounds: dict[str, int], *, timeout: float = 1800) -> dict[str, Any]:
    """Run both sides in fresh processes; return their results and the ratio.

    Args:
        n: One-hour waits per execution.
        rounds: Rounds per system (the AWS runner takes minutes per round at n=1,000).
        timeout: Longest a worker process may run.
    """
    results: dict[str, Any] = {"n": n, "rounds": rounds}
    for system in SYSTEMS:
        try:
            results[system] = run_worker(
                Path(__file__), {"system": system, "n": n, "rounds": rounds[system]}, timeout
            )
        except Exception as error:  # a peer that cannot run here is reported, not fatal
            results[system] = {"system": system, "n": n, "unavailable": str(error)[-500:]}
    ours, aws = results["ours"], results["aws"]
    if "median_seconds" in ours and "median_seconds" in aws:
        results["ratio"] = aws["median_seconds"] / ours["median_seconds"]
    return results


def report_lines(results: dict[str, Any]) -> list[str]:
    """Format the time-skipping results for run.py's report."""
    n = results["n"]
    lines = [
        f"Time skipping: one execution of {n:,} one-hour durable waits + 1 task, in virtual time "
        f"({n:,} h), wall time per execution, set-up included (median of the rounds)",
        f"  {'system':<58} {'rounds':>6} {'wall s':>8} {'CPU s':>7} {'µs/timer':>9} {'timers':>7}",
    ]
    labels = {
        "ours": "eventual TestEnvironment (in-memory engine, ManualClock)",
        "aws": "AWS durable execution local runner (skip_time=True)",
    }
    for system in SYSTEMS:
        row = results[system]
        if "unavailable" in row:
            lines.append(f"  {labels[system]:<58} not run: {row['unavailable']}")
            continue
        lines.append(
            f"  {labels[system]:<58} {row['rounds']:>6} {row['median_seconds']:>8.3f} "
            f"{row['median_cpu_seconds']:>7.2f} {row['us_per_timer']:>9.0f} "
            f"{row['timers_recorded']:>7,}"
        )
    if "ratio" in results:
        lines.append(
            f"  wall time ratio AWS / eventual: {results['ratio']:.0f}x "
            "(µs/timer = wall time / timers; CPU s = process CPU time, threads included)"
        )
    versions = {k: v for s in SYSTEMS for k, v in results[s].get("versions", {}).items()}
    if versions:
        lines.append("  versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("-n", type=int, default=1_000, help="one-hour waits per execution")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of eventual")
    parser.add_argument("--aws-rounds", type=int, default=1, help="rounds of the AWS runner")
    parser.add_argument("--system", choices=SYSTEMS, default=None, help="run one side only")
    args = parser.parse_args()
    if args.worker is not None:
        print(RESULT_PREFIX + json.dumps(_worker(json.loads(args.worker))), flush=True)
        return
    if args.system is not None:
        system_rounds = args.rounds if args.system == "ours" else args.aws_rounds
        cfg = {"system": args.system, "n": args.n, "rounds": system_rounds}
        json.dump(run_worker(Path(__file__), cfg, 1800), sys.stdout, indent=2)
        print()
        return
    rounds = {"ours": args.rounds, "aws": args.aws_rounds}
    print("\n".join(report_lines(measure(args.n, rounds))))


if __name__ == "__main__":
    main()
