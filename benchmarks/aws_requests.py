"""AWS requests and bytes written per task step, on the aws backend against moto.

One execution of ``n`` sequential tasks runs on the engine's own loops
(``Engine.run_until_idle``, the path ``Engine.serve`` takes in one process) on
``eventual_aws``'s DynamoDB backend, against moto's server started here. The
report gives, for each n, the AWS requests by operation, requests per task step
and bytes written per step. Flat from n = 10 to n = 100 means a step costs the
same however long the history is: it appends its own events and never rewrites
or re-reads the history.

Run: ``python benchmarks/aws_requests.py [--sizes 10 100]`` (needs eventual-aws
with its ``simulator`` extra, i.e. ``moto[server]``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
from collections import Counter
from typing import Any

from moto.server import ThreadedMotoServer

from eventual import ExecutionStatus, Service, task, workflow
from eventual.plugins import EventualConfig, Plugins, get_plugin_manager
from eventual_engine import Engine


@task
async def add_one(x: int) -> int:
    return x + 1


@workflow
async def n_tasks(n: int) -> int:
    total = 0
    for _ in range(n):
        total = await add_one(total)
    return total


SERVICE = Service.from_definitions("bench", [add_one, n_tasks])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _measure(endpoint: str, n: int) -> dict[str, Any]:
    # Chosen by configuration, as a service would: backend = "aws" and its options.
    options = {
        "aws_table": f"bench-{n}",
        "aws_bucket": "bench",
        "aws_region": "us-east-1",
        "aws_endpoint_url": endpoint,
    }
    config = EventualConfig(backend="aws", options=options)
    backend: Any = Plugins(get_plugin_manager()).backend("aws").create(config)
    try:
        await backend.create_resources()
        engine = Engine(SERVICE, backend)
        # Warm: the first execution pays for imports and connections, not counted.
        await engine.start_execution("n_tasks", 1, "warm")
        await engine.run_until_idle()
        requests = backend.requests.copy()
        written = backend.bytes_written.copy()
        execution = await engine.start_execution("n_tasks", n, f"n{n}")
        await engine.run_until_idle()
        record = await backend.executions.get(execution)
        spent: Counter[str] = backend.requests - requests
        bytes_written = sum((backend.bytes_written - written).values())
        assert record is not None
        assert record.status is ExecutionStatus.SUCCEEDED, record
        assert record.result == n
        total = sum(spent.values())
        return {
            "n": n,
            "requests": dict(sorted(spent.items())),
            "requests_total": total,
            "requests_per_step": total / n,
            "bytes_written_per_step": bytes_written / n,
            "history_events": len(await backend.executions.history(execution)),
        }
    finally:
        await backend.close()


async def _run(sizes: list[int]) -> list[dict[str, Any]]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")  # moto accepts any credentials
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        return [await _measure(f"http://127.0.0.1:{port}", n) for n in sizes]
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    rows = asyncio.run(_run(args.sizes))
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        return
    print(f"{'n':>5} {'requests':>9} {'per step':>9} {'bytes/step':>11}  by operation")
    for row in rows:
        operations = ", ".join(f"{k} {v}" for k, v in row["requests"].items())
        print(
            f"{row['n']:>5} {row['requests_total']:>9} {row['requests_per_step']:>9.2f} "
            f"{row['bytes_written_per_step']:>11.0f}  {operations}"
        )


if __name__ == "__main__":
    main()
