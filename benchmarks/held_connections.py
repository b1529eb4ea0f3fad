"""500 held long-polls and slowloris clients against ``eventual local``: does it keep answering?

A real ``eventual local`` (the CLI, uvicorn, the SQLite file) serves a small
service in its own process. Into it this process opens, each on a connection of
its own:

- ``--polls`` long-polls (500): half wait on an execution's end
  (``GET /_eventual/executions/{id}?wait=``), half on its next history event
  (``.../history?after=N&wait=``), on executions that wait for a signal, so every
  poll is held until ``max_wait``;
- ``--slowloris`` clients (100) that open a connection and send the start of a
  request and then, one header byte every few seconds, never finish it.

While all of them are held, commands are sent one at a time for ``--seconds``
from a fresh client. Reported: how many commands were answered, their latency
p50 and p99 as a ratio to the same commands on the idle server (measured first,
in the same run), how many polls were still held at the end (not answered
early, not dropped), and how many slowloris connections the server still held.
Counts and ratios only: the absolute numbers depend on the machine.

    python benchmarks/held_connections.py [--polls 500] [--slowloris 100] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

SERVICE = textwrap.dedent(
    """
    from eventual import command, signal, workflow

    go = signal("go", bool)


    @workflow
    async def waits(n: int) -> bool:
        return await go.expect()


    @command
    async def ping(n: int) -> int:
        return n + 1
    """
)
WAIT = 60  # seconds a poll asks to be held (eventual local's max_wait is 60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _raise_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


async def _commands(url: str, seconds: float) -> list[float]:
    """Send ``ping`` one at a time for ``seconds``; return each answered call's latency."""
    latencies: list[float] = []
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        end = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < end:
            n += 1
            start = time.perf_counter()
            response = await client.post("/_rpc/ping", content=str(n), headers=headers)
            if response.status_code == 200 and response.json() == n + 1:
                latencies.append(time.perf_counter() - start)
    return latencies


async def _poll(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> float:
    start = time.perf_counter()
    response = await client.get(path, params=params)
    response.raise_for_status()
    return time.perf_counter() - start


async def _slowloris(host: str, port: int, stop: asyncio.Event) -> bool:
    """Hold a request that never ends; return whether the server still held it at the end."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"POST /_rpc/ping HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow: ".encode())
    await writer.drain()
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 3)
            except TimeoutError:
                writer.write(b"a")  # one more byte of a header that never ends
                await writer.drain()
            if reader.at_eof():
                return False
        return not reader.at_eof()
    except (ConnectionError, OSError):
        return False
    finally:
        writer.close()


def _stats(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"n": len(ordered), "p50": statistics.median(ordered), "p99": p99}


async def _run(url: str, host: str, port: int, polls: int, slow: int, seconds: float) -> Any:
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(base_url=url, timeout=30) as setup:
        ids = []
        for i in range(max(1, polls // 50)):
            body = {"workflow": "waits", "input": i}
            answer = await setup.post(
                "/_eventual/executions", content=json.dumps(body), headers=headers
            )
            ids.append(answer.json()["id"])
        await asyncio.sleep(0.5)
        lengths = {}
        for id_ in ids:
            history = await setup.get(f"/_eventual/executions/{id_}/history")
            lengths[id_] = history.json()["next"]
    idle = _stats(await _commands(url, seconds))

    limits = httpx.Limits(max_connections=polls + 10, max_keepalive_connections=0)
    poller = httpx.AsyncClient(base_url=url, timeout=WAIT + 30, limits=limits)
    held: list[asyncio.Task[float]] = []
    for i in range(polls):
        id_ = ids[i % len(ids)]
        if i % 2:
            path, params = f"/_eventual/executions/{id_}", {"wait": str(WAIT)}
        else:
            path = f"/_eventual/executions/{id_}/history"
            params = {"after": str(lengths[id_]), "wait": str(WAIT)}
        held.append(asyncio.create_task(_poll(poller, path, params)))
    stop = asyncio.Event()
    slowloris = [asyncio.create_task(_slowloris(host, port, stop)) for _ in range(slow)]
    await asyncio.sleep(2)  # every poll and slow request reaches the server
    loaded = _stats(await _commands(url, seconds))
    answered_early = sum(task.done() for task in held)
    stop.set()
    slow_held = sum(await asyncio.gather(*slowloris))
    for task in held:
        task.cancel()
    await asyncio.gather(*held, return_exceptions=True)
    await poller.aclose()
    return {
        "polls": polls,
        "polls_held_to_the_end": polls - answered_early,
        "slowloris": slow,
        "slowloris_held_to_the_end": slow_held,
        "seconds": seconds,
        "idle": idle,
        "loaded": loaded,
        "answered_ratio": loaded["n"] / idle["n"],
        "p50_ratio": loaded["p50"] / idle["p50"],
        "p99_ratio": loaded["p99"] / idle["p99"],
    }


def measure(polls: int = 500, slow: int = 100, seconds: float = 10.0) -> dict[str, Any]:
    """Start ``eventual local``, load it, stop it; return the counts and ratios."""
    _raise_file_limit(2 * (polls + slow) + 256)  # both ends of every connection, and files
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "held_service.py").write_text(SERVICE)
        env = {**os.environ, "PYTHONPATH": folder}
        command = [sys.executable, "-m", "eventual_cli", "local", "--service", "held_service"]
        command += ["--port", str(port), "--db", str(Path(folder, "local.db"))]
        server = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/_eventual/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            else:
                raise RuntimeError("eventual local did not answer within 30 s")
            return asyncio.run(_run(url, "127.0.0.1", port, polls, slow, seconds))
        finally:
            server.terminate()
            server.wait(timeout=30)


def report(result: dict[str, Any]) -> str:
    """Return the result as a few lines of text."""
    idle, loaded = result["idle"], result["loaded"]
    return "\n".join(
        [
            f"held connections against eventual local ({result['seconds']:g} s of commands each)",
            f"  long-polls held to the end      {result['polls_held_to_the_end']} / "
            f"{result['polls']}",
            f"  slowloris held to the end       {result['slowloris_held_to_the_end']} / "
            f"{result['slowloris']}",
            f"  commands answered, idle/loaded  {idle['n']} / {loaded['n']} "
            f"(ratio {result['answered_ratio']:.2f})",
            f"  latency p50 loaded/idle         {result['p50_ratio']:.2f}x",
            f"  latency p99 loaded/idle         {result['p99_ratio']:.2f}x",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--polls", type=int, default=500)
    parser.add_argument("--slowloris", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = measure(args.polls, args.slowloris, args.seconds)
    print(json.dumps(result, indent=2) if args.json else report(result))


if __name__ == "__main__":
    main()
