"""The CLI, replay and the timeline UI against `eventual local --backend postgres`, unchanged.

One server process of the ``pgshop`` service (tests/services/pgshop.py) on a
schema of its own; the commands talk to it over the system API as they would to
any server, and ``replay`` and ``bus`` read the PostgreSQL store directly,
chosen by configuration (flags, environment) through the plugin hooks.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import psycopg
import pytest

# The commands are eventual-cli's; an install of eventual-postgres alone (nox's
# isolated session) has no eventual-cli to run them with.
pytest.importorskip("eventual_cli", reason="the commands are eventual-cli's")

from click.testing import CliRunner, Result

from eventual_cli import cli

SERVICES = Path(__file__).parent / "services"


@attrs.frozen(kw_only=True)
class Server:
    """A running `eventual local --backend postgres` and where its state lives."""

    url: str
    dsn: str
    schema: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(postgres_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`eventual local` of pgshop on the postgres backend and bus, in a schema of its own."""
    schema = f"cli_{uuid.uuid4().hex[:12]}"
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SERVICES), os.environ.get("PYTHONPATH", "")]),
        "EVENTUAL_POSTGRES_SCHEMA": schema,
    }
    args = [sys.executable, "-m", "eventual_cli", "local", "--service", "pgshop"]
    args += ["--backend", "postgres", "--dsn", postgres_dsn, "--port", str(port)]
    process = subprocess.Popen(
        [*args, "--log-level", "warning"],
        cwd=tmp_path_factory.mktemp("pgshop"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"eventual local exited: {process.communicate()[0]}")
            try:
                if httpx.get(f"{url}/_eventual/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "eventual local did not become healthy"
            time.sleep(0.1)
        yield Server(url=url, dsn=postgres_dsn, schema=schema)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def _cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200", **(env or {})})


def _fulfilled(server: Server) -> str:
    """Start fulfil and follow it to the end through the CLI; return its id."""
    name = uuid.uuid4().hex[:10]
    result = _cli(
        "start", "fulfil", json.dumps(name), "--name", name, "--follow", "--url", server.url
    )
    assert result.exit_code == 0, result.output
    return f"fulfil/{name}"


def test_the_operating_commands_work_against_a_postgres_server(server: Server) -> None:
    """executions, execution, history and logs show what the server keeps in PostgreSQL."""
    done = _fulfilled(server)
    env = {"EVENTUAL_URL": server.url}
    listed = json.loads(_cli("executions", "--json", "--workflow", "fulfil", env=env).stdout)
    assert done in [record["id"] for record in listed]
    record = json.loads(_cli("execution", done, "--json", env=env).stdout)
    assert (record["status"], record["result"]) == ("SUCCEEDED", f"packed {done[7:]}")
    events = json.loads(_cli("history", done, "--json", env=env).stdout)
    assert [events[0]["type"], events[-1]["type"]] == ["WorkflowStarted", "WorkflowSucceeded"]
    logs = _cli("logs", done, env=env)
    assert logs.exit_code == 0, logs.output
    assert f"fulfilling {done[7:]}" in logs.stdout
    assert f"packing {done[7:]}" in logs.stdout
    with psycopg.connect(server.dsn) as conn:
        stored = conn.execute(
            f"SELECT status FROM {server.schema}.executions WHERE id = %s", (done,)
        ).fetchone()
    assert stored == ("SUCCEEDED",)


def test_replay_reads_the_history_from_the_configured_postgres_backend(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--backend postgres with --dsn, the DSN from the environment, or --dsn alone all replay."""
    monkeypatch.syspath_prepend(str(SERVICES))
    done = _fulfilled(server)
    schema = {"EVENTUAL_POSTGRES_SCHEMA": server.schema}
    given = [done, "--service", "pgshop"]
    flags = _cli("replay", *given, "--backend", "postgres", "--dsn", server.dsn, env=schema)
    assert flags.exit_code == 0, flags.output
    assert f"✓ {done}: replayed" in flags.stdout
    from_env = _cli(
        "replay",
        *given,
        "--backend",
        "postgres",
        env={**schema, "EVENTUAL_POSTGRES_DSN": server.dsn},
    )
    assert from_env.exit_code == 0, from_env.output
    configured = _cli(
        "replay",
        *given,
        "--dsn",
        server.dsn,
        "--json",
        env={**schema, "EVENTUAL_BACKEND": "postgres"},
    )
    assert json.loads(configured.stdout)["ok"] is True
    missing = _cli(
        "replay",
        "fulfil/never",
        *given[1:],
        "--backend",
        "postgres",
        "--dsn",
        server.dsn,
        env=schema,
    )
    assert missing.exit_code == 1
    assert "backend 'postgres' holds no execution 'fulfil/never'" in missing.output


def test_replay_says_what_is_missing_for_a_server_backend(server: Server) -> None:
    """--dsn without a server backend, or postgres without a DSN, is one line saying what to add."""
    no_backend = _cli("replay", "fulfil/x", "--service", "pgshop", "--dsn", server.dsn)
    assert no_backend.exit_code == 2
    assert "add --backend NAME" in no_backend.output
    no_dsn = _cli("replay", "fulfil/x", "--service", "pgshop", "--backend", "postgres")
    assert no_dsn.exit_code == 1
    assert "the postgres backend needs a database" in no_dsn.output


def test_bus_services_reads_the_postgres_bus(server: Server) -> None:
    """`eventual bus services --event-bus postgres` lists the service's subscription."""
    result = _cli(
        "bus",
        "services",
        "--event-bus",
        "postgres",
        "--dsn",
        server.dsn,
        "--json",
        env={"EVENTUAL_POSTGRES_SCHEMA": server.schema},
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(row["service"], row["subscriptions"]) for row in rows] == [("pgshop", ["note_packed"])]


def test_the_timeline_ui_and_its_api_work_against_a_postgres_server(server: Server) -> None:
    """The UI page loads, and the calls it makes (service, list, record, history, logs) answer."""
    done = _fulfilled(server)
    with httpx.Client(base_url=f"{server.url}/_eventual") as http:
        page = http.get("/ui/")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        manifest = http.get("/service").json()
        assert "fulfil" in [workflow["name"] for workflow in manifest["workflows"]]
        listed = http.get("/executions", params={"workflow": "fulfil"}).json()
        assert done in [record["id"] for record in listed["executions"]]
        path = f"/executions/{done}"
        assert http.get(path).json()["status"] == "SUCCEEDED"
        history = http.get(f"{path}/history").json()
        assert history["events"][-1]["type"] == "WorkflowSucceeded"
        logs = http.get(f"{path}/logs").json()
        assert f"packing {done[7:]}" in [line["message"] for line in logs["entries"]]
