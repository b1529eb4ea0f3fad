"""Messaging: publish-to-handler latency and throughput of the durable SQLite local bus.

A service runs on ``LocalRuntime`` with a fresh SQLite file (engine and bus tables
in one file, default durability, default engine options). Its subscription
records ``time.perf_counter()`` when it is called.

- **Latency**: ``ev.publish(payload)`` from outside a workflow, one event at a
  time; each sample is the time from the call to the handler running (the publish
  is committed to the bus, the event loop is woken, the delivery is claimed,
  decoded and run). Reported as p50, p99 and max over N samples.
- **Throughput**: N events published in batches of ``batch`` (one
  ``ev.publish(*payloads)`` per batch, each batch one bus transaction), then
  waiting until the handler has seen all of them; events per second from the
  first publish to the last handler call.

Run alone: ``python benchmarks/messaging.py -n 500``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from eventual import Service, event, subscription
from eventual_engine import LocalRuntime

ping = event("Ping", int)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _measure(latency_n: int, throughput_n: int, batch: int) -> dict[str, Any]:
    handled: dict[int, float] = {}
    arrived = asyncio.Event()

    @subscription(ping)
    async def pong(n: int) -> None:
        handled[n] = time.perf_counter()
        arrived.set()

    service = Service.from_definitions("bench", [ping, pong])
    with tempfile.TemporaryDirectory() as tmp:
        async with LocalRuntime(service, db=Path(tmp) / "bench.db"):
            # Warm up: first claims open the connection and fill statement caches.
            for n in range(-20, 0):
                await ping.publish(n)
            while len(handled) < 20:
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), 30)

            samples = []
            for n in range(latency_n):
                arrived.clear()
                started = time.perf_counter()
                await ping.publish(n)
                while n not in handled:
                    await asyncio.wait_for(arrived.wait(), 30)
                    arrived.clear()
                samples.append(handled[n] - started)

            base = latency_n
            started = time.perf_counter()
            for first in range(base, base + throughput_n, batch):
                await ping.publish(*range(first, min(first + batch, base + throughput_n)))
            published = time.perf_counter()
            while len(handled) < 20 + latency_n + throughput_n:
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), 60)
            finished = max(handled[n] for n in range(base, base + throughput_n))
    ms = [s * 1000 for s in samples]
    return {
        "latency_n": latency_n,
        "latency_ms": {
            "p50": _quantile(ms, 0.50),
            "p99": _quantile(ms, 0.99),
            "max": max(ms),
            "mean": statistics.fmean(ms),
        },
        "throughput_n": throughput_n,
        "batch": batch,
        "publish_seconds": published - started,
        "total_seconds": finished - started,
        "events_per_second": throughput_n / (finished - started),
    }


def measure(latency_n: int, throughput_n: int, batch: int = 100) -> dict[str, Any]:
    """Run both measurements in a fresh event loop and return the numbers."""
    return asyncio.run(_measure(latency_n, throughput_n, batch))


def report_lines(result: dict[str, Any]) -> list[str]:
    """The report section for ``run.py``."""
    lat = result["latency_ms"]
    return [
        "Messaging: durable SQLite local bus on LocalRuntime (ev.publish -> subscription handler)",
        f"  latency, one event at a time, {result['latency_n']} samples: "
        f"p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms, max {lat['max']:.2f} ms",
        f"  throughput, {result['throughput_n']:,} events in batches of {result['batch']}: "
        f"{result['events_per_second']:,.0f} events/s "
        f"(published in {result['publish_seconds']:.2f} s, all handled after "
        f"{result['total_seconds']:.2f} s)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="latency samples")
    parser.add_argument("--events", type=int, default=5_000, help="events for throughput")
    parser.add_argument("--batch", type=int, default=100, help="events per publish call")
    args = parser.parse_args()
    result = measure(args.n, args.events, args.batch)
    print("\n".join(report_lines(result)))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
