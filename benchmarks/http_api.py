"""Command round trips through eventual's HTTP application vs a bare ASGI endpoint.

Both servers are uvicorn with the same settings, each in its own fresh process,
one after the other in the same run; the load comes from this process (httpx,
keep-alive connections). The work is the same on both sides: read a JSON order,
check its fields, price it, answer JSON. On the eventual side that is a
``@command`` served at ``POST /_rpc/quote`` by ``HttpApp`` over a ``LocalRuntime``
(in memory: a command does not touch the store), so the difference is the cost of
the framework: routing, middleware chain, typed decoding and encoding, request id.

Reported: latency p50 and p99 of sequential requests (one at a time), and
requests per second with ``--concurrency`` requests in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs

HERE = Path(__file__).resolve()
BODY = {"sku": "book", "quantity": 3, "unit_cents": 1250}
TARGET = 1.5


@attrs.frozen
class Order:
    sku: str
    quantity: int
    unit_cents: int


@attrs.frozen
class Quote:
    sku: str
    total_cents: int


def _price(sku: str, quantity: int, unit_cents: int) -> dict[str, Any]:
    return {"sku": sku, "total_cents": quantity * unit_cents}


async def _bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The same work without a framework: parse, check, price, answer."""
    if scope["type"] != "http":
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    if scope["path"] == "/_eventual/health":
        status, payload = 200, {"status": "ok"}
    else:
        data = json.loads(b"".join(chunks))
        valid = (
            isinstance(data, dict)
            and set(data) == {"sku", "quantity", "unit_cents"}
            and isinstance(data["sku"], str)
            and type(data["quantity"]) is int
            and type(data["unit_cents"]) is int
        )
        status, payload = (200, _price(**data)) if valid else (400, {"error": "invalid input"})
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _serve(kind: str, port: int) -> None:
    import uvicorn

    from eventual import Service, command
    from eventual_engine import HttpApp, LocalRuntime

    @command
    async def quote(order: Order) -> Quote:
        return Quote(**_price(order.sku, order.quantity, order.unit_cents))

    config: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "lifespan": "off",
        "log_level": "warning",
        "access_log": False,
    }
    if kind == "bare":
        uvicorn.run(_bare_app, **config)
        return

    async def run() -> None:
        async with LocalRuntime(Service.from_definitions("bench", [quote])) as runtime:
            await uvicorn.Server(uvicorn.Config(HttpApp(runtime), **config)).serve()

    asyncio.run(run())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _load(url: str, n: int, warmup: int, concurrency: int, rps_n: int) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=64)) as client:
        for _ in range(warmup):
            assert (await client.post("/_rpc/quote", json=BODY)).status_code == 200
        latencies = []
        for _ in range(n):
            began = time.perf_counter()
            response = await client.post("/_rpc/quote", json=BODY)
            latencies.append(time.perf_counter() - began)
            assert response.json() == {"sku": "book", "total_cents": 3750}
        remaining = rps_n

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                assert (await client.post("/_rpc/quote", json=BODY)).status_code == 200

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3,
        "requests_per_second": rps_n / elapsed,
    }


def _measure(kind: str, n: int, warmup: int, concurrency: int, rps_n: int) -> dict[str, Any]:
    import httpx

    port = _free_port()
    server = subprocess.Popen([sys.executable, str(HERE), "--serve", kind, "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/_eventual/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"the {kind} server did not start") from None
                time.sleep(0.05)
        return asyncio.run(_load(url, n, warmup, concurrency, rps_n))
    finally:
        server.terminate()
        server.wait(timeout=30)


def measure(
    n: int = 2000, warmup: int = 200, concurrency: int = 16, rps_n: int = 4000
) -> dict[str, Any]:
    """Measure both servers; return their numbers and the eventual/bare ratios."""
    bare = _measure("bare", n, warmup, concurrency, rps_n)
    ours = _measure("eventual", n, warmup, concurrency, rps_n)
    return {
        "n": n,
        "concurrency": concurrency,
        "bare": bare,
        "eventual": ours,
        "p50_ratio": ours["p50_ms"] / bare["p50_ms"],
        "p99_ratio": ours["p99_ms"] / bare["p99_ms"],
        "rps_ratio": ours["requests_per_second"] / bare["requests_per_second"],
        "target_p50_ratio": TARGET,
    }


def report(result: dict[str, Any]) -> str:
    """Format the result as the lines of the benchmark report."""
    lines = [
        "HTTP: command round trip (POST /_rpc/quote) through eventual's HttpApp vs a bare ASGI "
        "endpoint, uvicorn on both",
        f"  sequential: {result['n']} requests; throughput: {result['concurrency']} in flight",
        f"  {'':<10} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9}",
    ]
    for side in ("bare", "eventual"):
        row = result[side]
        lines.append(
            f"  {side:<10} {row['p50_ms']:>8.3f} {row['p99_ms']:>8.3f} "
            f"{row['requests_per_second']:>9.0f}"
        )
    verdict = "met" if result["p50_ratio"] <= TARGET else "NOT met"
    lines.append(
        f"  eventual/bare: p50 {result['p50_ratio']:.2f}x (target <= {TARGET}x: {verdict}), "
        f"p99 {result['p99_ratio']:.2f}x, req/s {result['rps_ratio']:.2f}x"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=["bare", "eventual"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("-n", type=int, default=2000, help="sequential requests per side")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rps-n", type=int, default=4000, help="requests of the throughput run")
    args = parser.parse_args()
    if args.serve is not None:
        _serve(args.serve, args.port)
        return
    result = measure(args.n, max(args.n // 10, 20), args.concurrency, args.rps_n)
    print(report(result))


if __name__ == "__main__":
    main()
