"""Run every benchmark, print a report with the ratios against DBOS, write results as JSON.

Usage: ``python benchmarks/run.py [--quick]`` (this is what ``nox -s bench`` runs).
See ``benchmarks/README.md`` for what is measured and how to read the report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import http_api
import memory
import messaging
import scaling
import throughput
import time_skipping
from workloads import PROFILE_TEXT, PROFILES, default_poll_interval

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TARGET_RATIO = 3.0


def _config(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "profiles": ["FULL"],
            "sequential": {"n": 20, "reps": 1, "warmup": 2},
            "concurrent": {"n": 200, "reps": 1, "warmup": 0, "concurrency": 100},
            "scaling_sizes": [100, 1_000],
            "scaling_budget": 20.0,
            "memory_n": 1_000,
            "messaging": {"latency_n": 50, "throughput_n": 1_000},
            "time_skipping": {"n": 100, "rounds": {"ours": 3, "aws": 1}},
            "http": {"n": 300, "warmup": 50, "concurrency": 16, "rps_n": 600},
        }
    return {
        "profiles": list(PROFILES),
        "sequential": {"n": 300, "reps": 5, "warmup": 20},
        "concurrent": {"n": 1_000, "reps": 3, "warmup": 100, "concurrency": 100},
        "scaling_sizes": [100, 1_000, 10_000],
        "scaling_budget": 900.0,
        "memory_n": 10_000,
        "messaging": {"latency_n": 1_000, "throughput_n": 20_000},
        "time_skipping": {"n": 1_000, "rounds": {"ours": 5, "aws": 1}},
        "http": {"n": 2_000, "warmup": 200, "concurrency": 16, "rps_n": 4_000},
    }


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev}{' (with uncommitted changes)' if dirty else ''}"


def _environment() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "revision": _git_revision(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "eventual-core": _version("eventual-core"),
        "eventual-engine": _version("eventual-engine"),
        "dbos": _version("dbos"),
    }


def _step(label: str) -> None:
    print(f"  ... {label}", file=sys.stderr, flush=True)


def run_throughput(cfg: dict[str, Any], poll_interval: float | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for profile in cfg["profiles"]:
        for mode in ("sequential", "concurrent"):
            settings = dict(cfg[mode])
            pair: dict[str, Any] = {"profile": profile, "mode": mode, **settings}
            for system in ("ours", "dbos"):
                _step(f"throughput {profile} {mode} {system}")
                pair[system] = throughput.measure(
                    system,
                    profile,
                    mode,
                    n=settings["n"],
                    reps=settings["reps"],
                    warmup=settings["warmup"],
                    concurrency=settings.get("concurrency", 1),
                    poll_interval=poll_interval,
                )
            pair["ratio"] = pair["ours"]["median_per_second"] / pair["dbos"]["median_per_second"]
            rows.append(pair)
    return rows


def _fmt_settings(settings: dict[str, str]) -> str:
    return f"journal_mode={settings['journal_mode']}, synchronous={settings['synchronous']}"


def report(results: dict[str, Any]) -> str:
    env = results["environment"]
    lines: list[str] = []
    add = lines.append
    add(f"eventual benchmarks ({results['mode']} mode), {env['date']}")
    add(
        f"  revision {env['revision']}; Python {env['python']}; SQLite {env['sqlite']}; "
        f"eventual-engine {env['eventual-engine']}; dbos {env['dbos']}"
    )
    add(f"  {env['platform']}, {env['cpus']} CPUs")
    add(f"  command: {results['command']}")
    poll = results["poll_interval"]
    add(
        f"  eventual engine options: defaults (poll_interval={poll} s)"
        if results["poll_interval_is_default"]
        else f"  eventual engine options: poll_interval={poll} s (not the default)"
    )
    add("")

    add("Durability (read back from each side's own SQLite connection)")
    for row in results["throughput"]:
        if row["mode"] != "sequential":
            continue
        add(f"  profile {row['profile']}: {PROFILE_TEXT[row['profile']]}")
        add(f"    eventual: {_fmt_settings(row['ours']['settings'])}")
        add(f"    DBOS:     {_fmt_settings(row['dbos']['settings'])}")
    add("")

    add(
        "Throughput: three_tasks_and_timer (3 sequential tasks + 1 zero-length durable timer), "
        "executions/s, median of the rounds"
    )
    add(
        f"  {'profile':<8} {'mode':<26} {'N':>6} {'rounds':>6} {'eventual/s':>11} "
        f"{'DBOS/s':>9} {'eventual/DBOS':>14}  target >= {TARGET_RATIO:g}x"
    )
    for row in results["throughput"]:
        mode = row["mode"]
        if mode == "concurrent":
            mode = f"concurrent ({row['concurrency']} in flight)"
        verdict = "met" if row["ratio"] >= TARGET_RATIO else "NOT met"
        add(
            f"  {row['profile']:<8} {mode:<26} {row['n']:>6} {row['reps']:>6} "
            f"{row['ours']['median_per_second']:>11.1f} {row['dbos']['median_per_second']:>9.1f} "
            f"{row['ratio']:>13.2f}x  {verdict}"
        )
    add("  recorded per execution (sanity check):")
    first = results["throughput"][0]
    add(f"    eventual: {first['ours']['recorded']}")
    add(f"    DBOS:     {first['dbos']['recorded']}")
    add("")

    sc = results["scaling"]
    add(
        "Scaling: one execution of n sequential tasks (eventual, SQLite, default durability), "
        "median per n"
    )
    base = f"vs n={sc['rows'][0]['n']}" if sc["rows"] else "ratio"
    add(
        f"  {'n':>7} {'rounds':>6} {'total s':>9} {'µs/task':>9} {base:>8} "
        f"{'history':>8} {'replays':>8}"
    )
    for row in sc["rows"]:
        add(
            f"  {row['n']:>7,} {row['reps']:>6} {row['median_seconds']:>9.2f} "
            f"{row['us_per_task']:>9.0f} {row['ratio']:>7.2f}x {row['history_events']:>8,} "
            f"{row['extra_replays']:>8}"
        )
    for skipped in sc["skipped"]:
        add(
            f"  {skipped['n']:>7,} skipped: estimated {skipped['estimated_seconds']:.0f} s, "
            f"over the budget of {sc['budget']:.0f} s"
        )
    add("  (history = events in the execution's history; replays = cache misses after the start)")
    if sc["rows"]:
        per_task_s = min(row["us_per_task"] for row in sc["rows"]) / 1e6
        if per_task_s >= 0.5 * poll:
            add(
                f"  note: time per task ({per_task_s * 1e3:.0f} ms) is of the order of the "
                f"engine's poll_interval ({poll * 1e3:.0f} ms): it measures wake-up latency "
                "more than work per step"
            )
    add("")

    mem = results["memory"]
    mib = 1024 * 1024
    peak = max(mem["peak_rss_bytes"], mem["waiting_rss_bytes"])
    add(
        f"Memory: {mem['n']:,} executions waiting on a 1-hour timer "
        "(eventual, SQLite, fresh process)"
    )
    for label, value in (
        ("baseline RSS (runtime open, before starting)", mem["baseline_rss_bytes"]),
        ("peak RSS", peak),
        ("RSS with all waiting (after gc)", mem["waiting_rss_bytes"]),
    ):
        add(f"  {label:<46} {value / mib:8.1f} MB")
    add(
        f"  per execution: {(peak - mem['baseline_rss_bytes']) / mem['n'] / 1024:.1f} KB "
        f"(peak - baseline), {mem['waiting_kb_per_execution']:.1f} KB (waiting - baseline)"
    )
    add(
        f"  live instances cached: {mem['live_instances']}; started and parked in "
        f"{mem['seconds_to_start_all']:.1f} s"
    )
    add("")
    if "messaging" in results:
        lines.extend(messaging.report_lines(results["messaging"]))
        add("")
    add(http_api.report(results["http"]))
    add("")
    lines.extend(time_skipping.report_lines(results["time_skipping"]))
    add("")
    add(f"Total time: {results['seconds']:.0f} s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=None,
        help="eventual EngineOptions.poll_interval in seconds (default: the engine's default)",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "latest.json", help="where to write the JSON"
    )
    args = parser.parse_args()
    cfg = _config(args.quick)
    started = time.perf_counter()
    command = "python benchmarks/run.py" + " ".join(
        ["", *(["--quick"] if args.quick else [])]
        + ([f"--poll-interval {args.poll_interval}"] if args.poll_interval is not None else [])
    )
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "command": command,
        "environment": _environment(),
        "config": cfg,
        "poll_interval": args.poll_interval
        if args.poll_interval is not None
        else default_poll_interval(),
        "poll_interval_is_default": args.poll_interval is None,
        "target_ratio": TARGET_RATIO,
    }
    results["throughput"] = run_throughput(cfg, args.poll_interval)
    _step("scaling")
    results["scaling"] = scaling.measure(
        cfg["scaling_sizes"],
        quick=args.quick,
        budget=cfg["scaling_budget"],
        poll_interval=args.poll_interval,
    )
    _step("memory")
    results["memory"] = memory.measure(cfg["memory_n"])
    _step("time skipping")
    results["time_skipping"] = time_skipping.measure(
        cfg["time_skipping"]["n"], cfg["time_skipping"]["rounds"]
    )
    _step("http")
    results["http"] = http_api.measure(**cfg["http"])
    _step("messaging")
    results["messaging"] = messaging.measure(**cfg["messaging"])
    results["seconds"] = time.perf_counter() - started
    print(report(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    try:
        shown = args.output.resolve().relative_to(HERE.parent)
    except ValueError:
        shown = args.output
    print(f"Results written to {shown}")


if __name__ == "__main__":
    main()
