"""The README's Quick start, end to end, against a real `eventual local` process."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
ORDERS = ROOT / "examples" / "orders"
README_URL = "http://127.0.0.1:3111"
CURL = re.compile(
    r"^curl -s (?:-X (\w+) )?'?(http://127\.0\.0\.1:3111[^' ]*)'?"
    r"(?: -H '([^':]*): ([^']*)')?(?: -d '([^']*)')?$"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """An `eventual local` subprocess for the orders example."""

    def __init__(self, db: Path, port: int) -> None:
        env = {
            **os.environ,
            "ORDERS_SHIPPING_DELAY": "1",
            "PYTHONPATH": os.pathsep.join([str(ORDERS / "src"), os.environ.get("PYTHONPATH", "")]),
        }
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eventual_cli", "local", "--port", str(port), "--db", str(db)],
            cwd=ORDERS,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.communicate()
            try:
                if httpx.get(f"{self.url}/_eventual/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("eventual local did not become healthy in 30 s")

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        stdout, stderr = self.process.communicate(timeout=30)
        return self.process.returncode, stdout + stderr


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    """Servers started by the test; any left running are killed."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.communicate()


def _readme_curls() -> list[tuple[str, str, dict[str, str], str | None]]:
    steps = []
    for line in README.read_text(encoding="utf-8").splitlines():
        match = CURL.match(line.strip())
        if match:
            method, url, header, value, body = match.groups()
            headers = {} if header is None else {header: value}
            steps.append((method or "GET", url.removeprefix(README_URL), headers, body))
    return steps


def _readme_client_snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    [snippet] = [str(block) for block in blocks if "ServiceClient(" in block]
    return snippet


def test_readme_walkthrough_and_restart(tmp_path: Path, servers: list[Server]) -> None:
    """Place, approve and read orders as the README does (curl, client); a restart keeps them."""
    db = tmp_path / "local.db"
    server = Server(db, _free_port())
    servers.append(server)

    steps = _readme_curls()
    assert [(method, path) for method, path, _, _ in steps] == [
        ("POST", "/_rpc/place_order"),
        ("POST", "/_eventual/executions/fulfil/o1/signals/approval"),
        ("GET", "/_eventual/executions/fulfil/o1?wait=30"),
    ]
    answers = [
        httpx.request(method, server.url + path, headers=headers, content=body, timeout=40)
        for method, path, headers, body in steps
    ]
    assert answers[0].json() == "fulfil/o1"
    assert answers[1].status_code == 202
    assert answers[2].json()["status"] == "SUCCEEDED"
    assert answers[2].json()["result"] == "shipped"

    snippet = _readme_client_snippet().replace(README_URL, server.url)
    env = {**os.environ, "PYTHONPATH": str(ORDERS / "src")}
    client = subprocess.run(
        [sys.executable, "-c", snippet], env=env, capture_output=True, text=True, timeout=60
    )
    assert client.returncode == 0, client.stderr
    assert client.stdout == "rejected\n"

    # An order left waiting for its approval when the server stops.
    waiting = httpx.post(
        f"{server.url}/_rpc/place_order", json={"id": "o3", "item": "pen", "quantity": 1}
    )
    assert waiting.json() == "fulfil/o3"
    code, output = server.stop()
    assert code == 0, output
    assert "eventual local: stopped" in output
    assert "Traceback" not in output

    again = Server(db, _free_port())
    servers.append(again)
    kept = httpx.get(f"{again.url}/_eventual/executions/fulfil/o1").json()
    assert (kept["status"], kept["result"]) == ("SUCCEEDED", "shipped")
    httpx.post(f"{again.url}/_eventual/executions/fulfil/o3/signals/approval", json=True)
    resumed = httpx.get(f"{again.url}/_eventual/executions/fulfil/o3?wait=30", timeout=40).json()
    assert (resumed["status"], resumed["result"]) == ("SUCCEEDED", "shipped")
    code, output = again.stop()
    assert code == 0, output


def test_readme_embedding_snippet_runs(tmp_path: Path) -> None:
    """The README's LocalRuntime program runs as written and prints the order's outcome."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    [snippet] = [str(block) for block in blocks if "LocalRuntime(" in block]
    script = tmp_path / "embed.py"
    script.write_text(snippet)
    env = {
        **os.environ,
        "ORDERS_SHIPPING_DELAY": "0",
        "PYTHONPATH": os.pathsep.join([str(ORDERS / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "shipped"
    assert (tmp_path / ".eventual" / "embedded.db").exists()
