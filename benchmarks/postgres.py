"""PostgreSQL: eventual's ``postgres`` backend against DBOS on the same server, and scale-out.

One throwaway PostgreSQL server (``eventual_postgres.TemporaryServer``, durable:
``fsync`` and synchronous commits on) serves the whole run; every measurement
gets a fresh database on it and runs in fresh processes.

1. **Against DBOS**, the throughput workload of ``throughput.py``
   (``three_tasks_and_timer``: three sequential tasks and a zero-length durable
   timer; DBOS: three steps and a 1 µs durable sleep), sequential and with 100
   executions in flight, eventual's ``LocalRuntime(backend="postgres")`` against
   DBOS with ``system_database_url`` on the same server.
2. **Scale-out**: the same executions started by a client that runs no work, all
   at once, and run by 1, 2 and 4 worker processes (``LocalRuntime`` on the
   ``postgres`` backend, as ``eventual local --backend postgres`` runs it) on one
   database; executions per second from the first start until all have ended,
   and the CPU time per execution of the worker processes and of the server
   (on a machine with fewer cores than processes, that decides the rate).
3. **I/O-bound scale-out** (``--io``): the same, but each execution's three tasks
   wait on simulated I/O instead of computing (``workloads.three_io_waits``:
   ``await asyncio.sleep(1.0)`` in an ``async`` task; ``three_blocking_waits``:
   ``time.sleep(0.1)`` in a ``def`` task), as services wait on other services. A
   worker process then runs at most as many attempts at once as it has slots:
   ``EngineOptions.task_concurrency`` (64 by default; ``eventual local`` keeps the
   default) for ``async`` tasks, and for ``def`` tasks also the engine's own
   threads (``EngineOptions.task_threads``, by default
   ``min(32, os.cpu_count() + 4)``: 6 on 2 cores). So its rate is bounded by slots over
   wait, and each process adds its slots. ``--io`` runs only this part.
4. **Signal-driven scale-out** (``--signals``): the same, but each execution
   (``workloads.three_signals``) runs no task and waits for three signals, which
   the client sends to every execution once all have started (one round of
   signals after another). The rate is bounded by CPU and round trips, not slots;
   the replays show how often a signal is applied by a process that does not hold
   the execution. ``--signals`` runs only this part. With ``--paced SECONDS`` the
   client sends the signals one at a time, that far apart (fewer executions), as
   signals arrive when they are not a burst: each then wakes every process on
   its own, and the empty claims show what those wake-ups cost.

Run: ``python benchmarks/postgres.py [--quick] [--io] [--signals [--paced S]] [--output FILE]``
in an environment with the workspace and ``benchmarks/requirements.txt`` installed
(``nox -s bench``'s). With ``--io`` or ``--signals``, ``--processes 1`` (or ``1,2``)
runs only those rows, ``--workflow three_io_waits`` only that workload and
``--executions N`` sets the size. Not part of ``run.py``: it needs the PostgreSQL
binaries (Debian's ``postgresql``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
READY = "BENCH-READY"


async def _create_database(dsn: str, name: str) -> str:
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(f"CREATE DATABASE {name}")
    return dsn.rsplit("/", 1)[0] + f"/{name}"


# --- one system, one mode, in a worker process ----------------------------------------------


async def _ours(cfg: dict[str, Any]) -> dict[str, Any]:
    from throughput import _rounds
    from workloads import SERVICE, three_tasks_and_timer

    from eventual.history import TaskSucceeded, TimerFired
    from eventual_engine import LocalRuntime

    settings: dict[str, object] = {"dsn": cfg["dsn"]}
    async with LocalRuntime(SERVICE, backend="postgres", settings=settings) as rt:
        handle = await rt.start(three_tasks_and_timer, 0)
        if await handle.result() != 3:
            raise AssertionError("wrong result")
        kinds = Counter(type(event).__name__ for event in await handle.history())
        if kinds[TaskSucceeded.__name__] != 3 or kinds[TimerFired.__name__] != 1:
            raise AssertionError(f"unexpected history: {dict(kinds)}")

        async def run_one(x: int) -> int:
            started = await rt.start(three_tasks_and_timer, x)
            return int(await started.result())

        return {"recorded": dict(kinds), "seconds": await _rounds(run_one, cfg)}


async def _dbos(cfg: dict[str, Any]) -> dict[str, Any]:
    from dbos import DBOS
    from throughput import _rounds
    from workloads import DBOS_SLEEP_SECONDS

    DBOS(
        config={
            "name": "eventual-bench",
            "system_database_url": cfg["dsn"],
            "log_level": "WARNING",
        }
    )

    @DBOS.step()
    async def dbos_add_one(x: int) -> int:
        return x + 1

    @DBOS.workflow()
    async def dbos_three_steps_and_sleep(x: int) -> int:
        x = await dbos_add_one(x)
        x = await dbos_add_one(x)
        await DBOS.sleep_async(DBOS_SLEEP_SECONDS)  # 0 s would record nothing
        return await dbos_add_one(x)

    DBOS.launch()
    try:
        handle: Any = await DBOS.start_workflow_async(dbos_three_steps_and_sleep, 0)
        if await handle.get_result() != 3:
            raise AssertionError("wrong result")
        steps = await DBOS.list_workflow_steps_async(handle.get_workflow_id())
        if len(steps) != 4:
            raise AssertionError(f"unexpected DBOS steps: {steps}")

        async def run_one(x: int) -> int:
            started: Any = await DBOS.start_workflow_async(dbos_three_steps_and_sleep, x)
            return int(await started.get_result())

        recorded = Counter(str(step["function_name"]) for step in steps)
        return {"recorded": dict(recorded), "seconds": await _rounds(run_one, cfg)}
    finally:
        DBOS.destroy(destroy_registry=True)


async def _measure_worker(cfg: dict[str, Any]) -> dict[str, Any]:
    result = await (_ours(cfg) if cfg["system"] == "ours" else _dbos(cfg))
    rates = [cfg["n"] / s for s in result["seconds"]]
    return {**cfg, **result, "per_second": rates, "median_per_second": statistics.median(rates)}


# --- scale-out: worker processes serving one database -----------------------------------------

# The scale-out workloads: workflow, its input (None: the execution's number), executions
# (full run, --quick) and the most executions per second one process can run by its slots.
CPU_BOUND: dict[str, Any] = {"workflow": "three_tasks_and_timer", "input": None}
IO_BOUND: tuple[dict[str, Any], ...] = (
    # 64 task slots / (3 x 1.0 s) per process.
    {"workflow": "three_io_waits", "input": 1.0, "n": (1_000, 200), "bound": 64 / 3.0},
    # min(32, cpus + 4) task threads (the default task_threads) / (3 x 0.1 s) per process.
    {
        "workflow": "three_blocking_waits",
        "input": 0.1,
        "n": (600, 120),
        "bound": min(32, (os.cpu_count() or 1) + 4) / 0.3,
    },
)

# Executions that wait for signals and run no task: (full run, --quick) executions.
SIGNAL_BOUND: dict[str, Any] = {
    "workflow": "three_signals",
    "input": "none",
    "n": (600, 200),
    "signals": 3,
}


async def _serve(cfg: dict[str, Any]) -> None:
    from datetime import timedelta

    from workloads import SERVICE

    from eventual.spi import InboundBatch
    from eventual_engine import LocalRuntime

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    settings: dict[str, object] = {"dsn": cfg["dsn"]}
    async with LocalRuntime(SERVICE, backend="postgres", settings=settings) as rt:
        queue = rt.engine.backend.queue
        claim = queue.claim
        claims = {"claims": 0, "empty_claims": 0}

        async def counted(owner: str, limit: int, lease: timedelta) -> list[InboundBatch]:
            batches = await claim(owner, limit, lease)
            claims["claims"] += 1
            claims["empty_claims"] += not batches
            return batches

        queue.claim = counted  # type: ignore[method-assign]  # counting, in this process only
        # The parent sends SIGUSR1 as it starts the executions: looks before it (idle
        # polls while the other processes start) are not counted.
        loop.add_signal_handler(signal.SIGUSR1, lambda: claims.update(claims=0, empty_claims=0))
        print(READY, flush=True)
        await stop.wait()
        # Histories read and replayed (live-instance cache misses) in this process, the
        # task attempts it ran, and its looks at the queue (those that took nothing).
        counts = {
            "replays": rt.engine.orchestrator.replays,
            "attempts": rt.engine.tasks.attempts,
            **claims,
        }
        print(json.dumps(counts), flush=True)


async def _drive(dsn: str, n: int, workload: dict[str, Any]) -> float:
    """Start ``n`` executions from a client that runs no work; return seconds until all ended.

    The end is seen by counting ended executions in the database every 10 ms
    (one query), not by ``n`` waiters each re-reading its record: those share
    100 re-reads a second, which would measure the client's polling.
    """
    import psycopg
    from workloads import SERVICE

    from eventual import ExecutionStatus
    from eventual_engine import BackendClient
    from eventual_postgres import PostgresBackend

    backend = await PostgresBackend(dsn, pool_size=20).open()
    try:
        client = BackendClient(SERVICE, backend)
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            started = time.perf_counter()
            ids = await asyncio.gather(
                *(
                    client.start_execution(
                        workload["workflow"],
                        _input(workload, x),
                        f"x{x}",
                    )
                    for x in range(n)
                )
            )
            for _ in range(workload.get("signals", 0)):
                if workload.get("pace") is None:
                    await asyncio.gather(*(client.send_signal(id_, "tick", 1) for id_ in ids))
                    continue
                for id_ in ids:
                    await client.send_signal(id_, "tick", 1)
                    await asyncio.sleep(workload["pace"])
            count = (
                "SELECT count(*) FILTER (WHERE status <> %s), count(*) FILTER (WHERE status = %s) "
                "FROM eventual.executions"
            )
            running, succeeded = ExecutionStatus.RUNNING.value, ExecutionStatus.SUCCEEDED.value
            while True:
                cursor = await conn.execute(count, (running, succeeded))
                row = await cursor.fetchone()
                assert row is not None
                if int(row[0]) >= n:
                    break
                await asyncio.sleep(0.01)
            seconds = time.perf_counter() - started
        if int(row[1]) != n:
            raise AssertionError("an execution did not succeed")
        return seconds
    finally:
        await backend.close()


def _input(workload: dict[str, Any], x: int) -> object:
    """The input of execution number ``x`` of ``workload``."""
    if workload["input"] is None:
        return x
    return None if workload["input"] == "none" else workload["input"]


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time (user and system) so far of the processes ``pids`` and their children."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                times = process.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue  # a server process that ended (a closed connection's)
    return total


def _server_pid(server: Any) -> int:
    return int((server.folder / "data" / "postmaster.pid").read_text().split()[0])


def _scale(
    server: Any, workers: int, n: int, workload: dict[str, Any] = CPU_BOUND
) -> dict[str, Any]:
    name = f"scale_{workload['workflow']}_{workers}"
    dsn = asyncio.run(_create_database(server.dsn(), name))
    cfg = json.dumps({"dsn": dsn})
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "--serve", cfg], stdout=subprocess.PIPE, text=True
        )
        for _ in range(workers)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            if process.stdout.readline().strip() != READY:
                raise RuntimeError("a worker process did not start")
        pids = [process.pid for process in processes]
        for process in processes:
            process.send_signal(signal.SIGUSR1)
        before = _cpu_seconds(pids), _cpu_seconds([_server_pid(server)])
        seconds = asyncio.run(_drive(dsn, n, workload))
        after = _cpu_seconds(pids), _cpu_seconds([_server_pid(server)])
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        counts = [json.loads(process.communicate(timeout=60)[0]) for process in processes]
    return {
        "workflow": workload["workflow"],
        "workers": workers,
        "n": n,
        "seconds": seconds,
        "per_second": n / seconds,
        # CPU milliseconds per execution, all worker processes and the server's.
        "worker_cpu_ms": 1000 * (after[0] - before[0]) / n,
        "server_cpu_ms": 1000 * (after[1] - before[1]) / n,
        # Histories read and replayed per execution, by all worker processes.
        "replays": sum(c["replays"] for c in counts) / n,
        # Task attempts each worker process ran: how the work spread.
        "attempts": [c["attempts"] for c in counts],
        # Looks at the queue per execution, by all worker processes, and those that took
        # nothing (polls, and wake-ups for messages another process holds or took first).
        "claims": sum(c["claims"] for c in counts) / n,
        "empty_claims": sum(c["empty_claims"] for c in counts) / n,
    }


# --- the run ------------------------------------------------------------------------------------


def _main_io(
    quick: bool,
    output: Path,
    workloads: tuple[dict[str, Any], ...] = IO_BOUND,
    processes: tuple[int, ...] = (1, 2, 4),
    executions: int | None = None,
) -> None:
    """Scale-out of the I/O-bound (or other) workloads on 1, 2 and 4 (or ``processes``) workers."""
    from eventual_postgres import TemporaryServer

    results: dict[str, Any] = {
        "versions": _versions(("psycopg", "eventual-postgres")),
        "cpus": os.cpu_count(),
        "io_scale": [],
    }
    with TemporaryServer(durable=True, max_connections=300) as server:
        for workload in workloads:
            n = executions or workload["n"][1 if quick else 0]
            rows = [_scale(server, workers, n, workload) for workers in processes]
            for row in rows:
                row["ratio"] = row["per_second"] / rows[0]["per_second"]
                bound = ""
                if "bound" in workload:
                    row["slot_bound_per_second"] = workload["bound"] * row["workers"]
                    bound = f"; slots allow {row['slot_bound_per_second']:.0f}"
                results["io_scale"].append(row)
                print(
                    f"{workload['workflow']}, {row['workers']} worker(s): "
                    f"{row['per_second']:7.1f} executions/s ({row['ratio']:.2f}x{bound})  "
                    "CPU per execution: workers "
                    f"{row['worker_cpu_ms']:.1f} ms, server {row['server_cpu_ms']:.1f} ms; "
                    f"{row['replays']:.2f} replays; claims {row['claims']:.2f}, "
                    f"{row['empty_claims']:.2f} empty",
                    flush=True,
                )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    print(f"results in {output}")


def _versions(names: tuple[str, ...] = ("dbos", "psycopg", "eventual-postgres")) -> dict[str, str]:
    from importlib import metadata

    return {name: metadata.version(name) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--io", action="store_true", help="only the scale-out of I/O-bound executions"
    )
    parser.add_argument(
        "--signals",
        action="store_true",
        help="only the scale-out of executions that wait for signals and run no task",
    )
    parser.add_argument(
        "--paced",
        type=float,
        metavar="SECONDS",
        help="with --signals: send the signals one at a time, SECONDS apart (60 executions)",
    )
    parser.add_argument(
        "--processes",
        type=lambda text: tuple(int(part) for part in text.split(",")),
        default=(1, 2, 4),
        help="worker process counts of the scale-out rows, e.g. 1 or 1,2 (default 1,2,4)",
    )
    parser.add_argument(
        "--workflow",
        default=None,
        help="with --io: only this workload (three_io_waits or three_blocking_waits)",
    )
    parser.add_argument(
        "--executions", type=int, default=None, help="with --io or --signals: executions per row"
    )
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    if args.worker is not None:
        from throughput import RESULT_PREFIX

        result = asyncio.run(_measure_worker(json.loads(args.worker)))
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return
    if args.serve is not None:
        asyncio.run(_serve(json.loads(args.serve)))
        return

    from throughput import run_worker

    from eventual_postgres import TemporaryServer

    if args.signals:
        output = args.output or HERE / "results" / "postgres_signals.json"
        workload = SIGNAL_BOUND
        if args.paced is not None:
            workload = {**SIGNAL_BOUND, "n": (60, 60), "pace": args.paced}
        _main_io(args.quick, output, (workload,), args.processes, args.executions)
        return
    if args.io:
        chosen = tuple(w for w in IO_BOUND if args.workflow in (None, w["workflow"]))
        if not chosen:
            parser.error(f"--workflow {args.workflow!r}: not one of the --io workloads")
        output = args.output or HERE / "results" / "postgres_io.json"
        _main_io(args.quick, output, chosen, args.processes, args.executions)
        return
    args.output = args.output or HERE / "results" / "postgres.json"

    # (executions per round, rounds, warm-up executions) per mode; executions for scale-out.
    rounds = (
        {"sequential": (20, 1, 2), "concurrent": (200, 1, 0)}
        if args.quick
        else {"sequential": (200, 3, 20), "concurrent": (1_000, 3, 100)}
    )
    scale_n = 200 if args.quick else 1_000
    results: dict[str, Any] = {"versions": _versions(), "cpus": os.cpu_count(), "pairs": []}
    with TemporaryServer(durable=True, max_connections=300) as server:
        for mode in ("sequential", "concurrent"):
            n, reps, warmup = rounds[mode]
            pair: dict[str, Any] = {"mode": mode}
            for system in ("dbos", "ours"):
                dsn = asyncio.run(_create_database(server.dsn(), f"{system}_{mode}"))
                cfg = {
                    "system": system,
                    "mode": mode,
                    "dsn": dsn,
                    "n": n,
                    "reps": reps,
                    "warmup": warmup,
                    "concurrency": 100 if mode == "concurrent" else 1,
                }
                pair[system] = run_worker(Path(__file__), cfg, timeout=1800)
            ratio = pair["ours"]["median_per_second"] / pair["dbos"]["median_per_second"]
            pair["ratio"] = ratio
            results["pairs"].append(pair)
            print(
                f"{mode:>10}: eventual {pair['ours']['median_per_second']:8.1f}/s  "
                f"DBOS {pair['dbos']['median_per_second']:8.1f}/s  ratio {ratio:5.2f}x",
                flush=True,
            )
        results["scale"] = []
        for workers in (1, 2, 4):
            row = _scale(server, workers, scale_n)
            results["scale"].append(row)
            print(
                f"{workers} worker(s): {row['per_second']:8.1f} executions/s  CPU per execution: "
                f"workers {row['worker_cpu_ms']:.1f} ms, server {row['server_cpu_ms']:.1f} ms; "
                f"{row['replays']:.2f} replays",
                flush=True,
            )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    print(f"results in {args.output}")


if __name__ == "__main__":
    main()
