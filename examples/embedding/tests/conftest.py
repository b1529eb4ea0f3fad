"""Fixtures: the example's applications served by real servers in subprocesses."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A server started with ``python -m ARGS --port PORT``, stopped with Ctrl-C."""

    def __init__(self, folder: Path, module: str, *args: str, health: str) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "SHOPFRONT_DB": str(folder / "shop.db")}
        command = [sys.executable, "-m", module, *args, "--port", str(port)]
        self.process = subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{module} exited: {self.process.communicate()[0]}")
            try:
                if httpx.get(self.url + health, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"{module} did not answer {health}")

    def stop(self) -> str:
        """Stop the server and return what it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.communicate(timeout=20)[0]
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.communicate()[0]


def _uvicorn(folder: Path, app: str) -> Iterator[str]:
    args = [app, "--host", "127.0.0.1", "--lifespan", "on", "--log-level", "warning"]
    server = Server(folder, "uvicorn", *args, health="/orders/_eventual/health")
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def fastapi_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the FastAPI application on uvicorn."""
    yield from _uvicorn(tmp_path_factory.mktemp("fastapi"), "shopfront.fastapi_app:app")


@pytest.fixture(scope="module")
def django_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the Django ASGI application on uvicorn."""
    yield from _uvicorn(tmp_path_factory.mktemp("django"), "shopfront.django_site.asgi:application")


@pytest.fixture(scope="module")
def eventual_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of `eventual local` serving the shop's service."""
    folder = tmp_path_factory.mktemp("local")
    args = ["local", "--service", "shopfront.service", "--db", str(folder / "local.db")]
    server = Server(folder, "eventual_cli", *args, health="/_eventual/health")
    yield server.url
    server.stop()
