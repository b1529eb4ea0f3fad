"""Fixtures of the CLI tests: a live `eventual local` and the CLI run in-process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import httpx
import pytest
from click.testing import CliRunner, Result

from eventual_cli import cli

SERVICES = Path(__file__).parent / "services"

RunCli = Callable[..., Result]


def free_port() -> int:
    """Return a port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@attrs.frozen(kw_only=True)
class LiveServer:
    """A running `eventual local` of the tests' shop service."""

    url: str
    db: Path
    process: subprocess.Popen[str]
    token: str | None = None


def start_server(folder: Path, service: str = "shopdemo", token: str | None = None) -> LiveServer:
    """Start `eventual local` in a subprocess and wait until it is healthy."""
    port = free_port()
    db = folder / "local.db"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SERVICES), os.environ.get("PYTHONPATH", "")]),
    }
    args = [sys.executable, "-m", "eventual_cli", "local", "--service", service]
    args += ["--port", str(port), "--db", str(db), "--log-level", "warning"]
    if token is not None:
        args += ["--token", token]
    process = subprocess.Popen(
        args, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"eventual local exited: {process.communicate()[0]}")
        try:
            if httpx.get(f"{url}/_eventual/health", timeout=1).status_code == 200:
                return LiveServer(url=url, db=db, process=process, token=token)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"eventual local did not become healthy: {process.communicate()[0]}")


def stop_server(server: LiveServer) -> None:
    """Stop the server with Ctrl-C (or kill it if it hangs)."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
        try:
            server.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.communicate()


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One `eventual local` of the shop service for the whole session."""
    server = start_server(tmp_path_factory.mktemp("live"))
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """An `eventual local` of the shop service whose system API needs the token "s3cret"."""
    server = start_server(tmp_path_factory.mktemp("secured"), token="s3cret")
    yield server
    stop_server(server)


@pytest.fixture
def run_cli(live: LiveServer) -> RunCli:
    """Run `eventual ARGS...` in-process against the live server; return click's result."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        environment = {"EVENTUAL_URL": live.url, "COLUMNS": "200", **(env or {})}
        return CliRunner().invoke(cli, list(args), input=input, env=environment)

    return run


@pytest.fixture
def services_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the tests' service modules importable in this process."""
    monkeypatch.syspath_prepend(str(SERVICES))
    return SERVICES
