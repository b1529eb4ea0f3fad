"""eventual local: configuration, the token rule for other addresses, and clean shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from eventual import Service, task, workflow
from eventual import signal as define_signal
from eventual.history import ExecutionRecord
from eventual_cli import LocalSettings, _local, cli, serve_local
from eventual_engine import Engine
from eventual_engine._local import engine_options

go = define_signal("go", bool)


@workflow
async def echo(text: str) -> str:
    return text


@workflow
async def wait_for_go(text: str) -> str:
    await go.expect()
    return text


SERVICE = Service.from_definitions("echo", [echo, go, wait_for_go])

attempts: list[str] = []
attempt_started = asyncio.Event()


@task
async def slow_upper(text: str) -> str:
    attempts.append(text)
    attempt_started.set()
    if len(attempts) == 1:
        await asyncio.sleep(60)  # still running when the server is stopped
    return text.upper()


@workflow
async def shout(text: str) -> str:
    return await slow_upper(text)


SHOUTING = Service.from_definitions("shout", [slow_upper, shout])


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[LocalSettings]:
    """Replace the server with a recorder of the settings it would run with."""
    seen: list[LocalSettings] = []

    async def record(settings: LocalSettings, **_: object) -> None:
        seen.append(settings)

    monkeypatch.setattr(_local, "serve_local", record)
    return seen


def _project(tmp_path: Path, table: str = 'service = "shop.api"') -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.eventual]\n{table}\n")
    return tmp_path


def test_service_and_db_come_from_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: list[LocalSettings]
) -> None:
    """Without flags, the service is [tool.eventual]'s, the db .eventual/local.db beside it."""
    project = _project(tmp_path)
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    monkeypatch.delenv("EVENTUAL_SERVICE", raising=False)
    monkeypatch.delenv("EVENTUAL_DB", raising=False)
    result = CliRunner().invoke(cli, ["local"])
    assert result.exit_code == 0, result.output
    [settings] = captured
    assert settings.service == "shop.api"
    assert settings.db == project / ".eventual" / "local.db"
    assert (settings.host, settings.port, settings.token) == ("127.0.0.1", 3111, None)
    assert (project / ".eventual").is_dir()


def test_flags_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: list[LocalSettings]
) -> None:
    """--service, --port and --db (relative to the current directory) override the config."""
    monkeypatch.chdir(_project(tmp_path))
    args = ["local", "--service", "other.mod", "--port", "4000", "--db", "state/x.db"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    [settings] = captured
    assert (settings.service, settings.port) == ("other.mod", 4000)
    assert settings.db == tmp_path / "state" / "x.db"


def test_no_service_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a service anywhere, the error says where to name one."""
    monkeypatch.chdir(_project(tmp_path, table=""))
    monkeypatch.delenv("EVENTUAL_SERVICE", raising=False)
    result = CliRunner().invoke(cli, ["local"])
    assert result.exit_code == 2
    assert "--service" in result.output
    assert "[tool.eventual]" in result.output


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::"])
def test_other_addresses_need_a_token(
    host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: list[LocalSettings]
) -> None:
    """Binding anything but loopback without a token is refused with what to do."""
    monkeypatch.chdir(_project(tmp_path))
    monkeypatch.delenv("EVENTUAL_TOKEN", raising=False)
    refused = CliRunner().invoke(cli, ["local", "--host", host])
    assert refused.exit_code == 2
    assert "--token" in refused.output
    assert "EVENTUAL_TOKEN" in refused.output
    assert captured == []
    allowed = CliRunner().invoke(cli, ["local", "--host", host], env={"EVENTUAL_TOKEN": "t"})
    assert allowed.exit_code == 0, allowed.output
    assert captured[0].token == "t"


def test_blank_token_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A blank token is a usage error, not a traceback at startup."""
    monkeypatch.chdir(_project(tmp_path))
    result = CliRunner().invoke(cli, ["local", "--host", "0.0.0.0", "--token", "  "])
    assert result.exit_code == 2
    assert "blank" in result.output


def test_unknown_service_module_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service module that does not import is a clear error, not a traceback."""
    monkeypatch.chdir(tmp_path)
    args = ["local", "--service", "no_such_module_here", "--db", "x.db", "--port", "0"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "no_such_module_here" in result.output
    assert "Traceback" not in result.output


def test_http_options_follow_the_bind_address() -> None:
    """On loopback only loopback host names are answered; off loopback the token protects."""
    loopback = _local.http_options(LocalSettings(service=SERVICE, host="localhost"))
    assert loopback.allowed_hosts == ("localhost", "127.0.0.1", "[::1]")
    assert loopback.token is None
    anywhere = LocalSettings(service=SERVICE, host="0.0.0.0", token="s3cret")
    assert _local.http_options(anywhere).allowed_hosts is None
    assert _local.http_options(anywhere).token == "s3cret"


async def test_serves_until_sigint_then_stops(tmp_path: Path) -> None:
    """serve_local answers HTTP, then stops cleanly on SIGINT, keeping its state in the db."""
    urls: list[str] = []
    ready = asyncio.Event()

    def announce(url: str) -> None:
        urls.append(url)
        ready.set()

    settings = LocalSettings(service=SERVICE, port=0, db=tmp_path / "s.db")
    server = asyncio.create_task(serve_local(settings, announce=announce))
    await asyncio.wait_for(ready.wait(), 10)
    [url] = urls
    assert url.startswith("http://127.0.0.1:")
    async with httpx.AsyncClient(base_url=url) as client:
        health = await client.get("/_eventual/health")
        assert health.json() == {"status": "ok", "service": "echo"}
        rebound = await client.get("/_eventual/executions", headers={"host": "evil.example"})
        assert rebound.status_code == 421  # a page whose name is rebound to 127.0.0.1
        started = await client.post(
            "/_eventual/executions", json={"workflow": "echo", "input": "hi", "name": "one"}
        )
        assert started.status_code == 201
    os.kill(os.getpid(), signal.SIGINT)
    await asyncio.wait_for(server, 15)
    assert (tmp_path / "s.db").exists()


async def test_sigterm_answers_long_polls_and_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM stops the server at once even while a client long-polls; the poll is answered."""
    held = asyncio.Event()
    wait = Engine.wait

    async def noting_wait(
        self: Engine, execution_id: str, timeout: float | None = None
    ) -> ExecutionRecord:
        held.set()  # the server holds a long-poll from here on
        return await wait(self, execution_id, timeout)

    monkeypatch.setattr(Engine, "wait", noting_wait)
    urls: list[str] = []
    ready = asyncio.Event()

    def announce(url: str) -> None:
        urls.append(url)
        ready.set()

    settings = LocalSettings(service=SERVICE, port=0, db=tmp_path / "s.db")
    server = asyncio.create_task(serve_local(settings, announce=announce))
    await asyncio.wait_for(ready.wait(), 10)
    async with httpx.AsyncClient(base_url=urls[0], timeout=60) as client:
        started = await client.post(
            "/_eventual/executions", json={"workflow": "wait_for_go", "input": "x", "name": "w"}
        )
        assert started.status_code == 201
        polling = asyncio.create_task(
            client.get("/_eventual/executions/wait_for_go/w", params={"wait": 30})
        )
        await asyncio.wait_for(held.wait(), 30)
        assert not polling.done()
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(server, 10)
        answered = await asyncio.wait_for(polling, 1)
    assert answered.json()["status"] == "RUNNING"


def _service_module(folder: Path, name: str, source: str) -> None:
    (folder / f"{name}.py").write_text(source)


def test_port_in_use_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A port that is taken is a one-line error naming it and what to do, not a traceback."""
    _service_module(tmp_path, "tiny", "from eventual import workflow\n")
    monkeypatch.chdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        args = ["local", "--service", "tiny", "--db", "x.db", "--port", port]
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert f"cannot listen on http://127.0.0.1:{port}" in result.output
    assert "--port" in result.output
    assert "Traceback" not in result.output


def test_error_in_the_service_module_shows_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception raised while importing the service prints its traceback into that module."""
    _service_module(tmp_path, "broken", "import os\nraise RuntimeError('no config file')\n")
    monkeypatch.chdir(tmp_path)
    args = ["local", "--service", "broken", "--db", "x.db", "--port", "0"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert 'broken.py", line 2' in result.output
    assert "RuntimeError: no config file" in result.output
    assert "cannot import service module 'broken'" in result.output


async def _serve(settings: LocalSettings) -> tuple[asyncio.Task[None], str]:
    urls: list[str] = []
    ready = asyncio.Event()

    def announce(url: str) -> None:
        urls.append(url)
        ready.set()

    server = asyncio.create_task(serve_local(settings, announce=announce))
    await asyncio.wait_for(ready.wait(), 10)
    return server, urls[0]


async def test_work_in_flight_at_sigterm_is_abandoned_and_runs_after_a_restart(
    tmp_path: Path,
) -> None:
    """A task still running at shutdown is given up after the grace period and run again."""
    attempts.clear()
    attempt_started.clear()
    settings = LocalSettings(
        service=SHOUTING,
        port=0,
        db=tmp_path / "s.db",
        options={"lease_seconds": "1", "poll_interval": "0.05"},
    )
    server, url = await _serve(settings)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        started = await client.post(
            "/_eventual/executions", json={"workflow": "shout", "input": "hi", "name": "x"}
        )
        assert started.status_code == 201
    await asyncio.wait_for(attempt_started.wait(), 10)
    loop = asyncio.get_running_loop()
    stopping = loop.time()
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(server, 15)
    assert loop.time() - stopping < 10  # the grace period, not the task's minute
    server, url = await _serve(settings)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            done = await client.get("/_eventual/executions/shout/x", params={"wait": 20})
        assert (done.json()["status"], done.json()["result"]) == ("SUCCEEDED", "HI")
        assert attempts == ["hi", "hi"]
    finally:
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.wait_for(server, 15)


def test_local_aws_without_eventual_aws_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a plugin serving --aws, the error names the distribution to install."""
    monkeypatch.chdir(_project(tmp_path))
    # The command alone, in no group: no plugin has contributed the AWS variant.
    result = CliRunner().invoke(_local.local, ["--aws"])
    assert result.exit_code != 0
    assert "pip install 'eventual-aws[simulator]'" in result.output


def test_endpoint_url_without_aws_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: list[LocalSettings]
) -> None:
    """--endpoint-url alone is refused, saying it goes with --aws."""
    monkeypatch.chdir(_project(tmp_path))
    result = CliRunner().invoke(cli, ["local", "--endpoint-url", "http://localhost:4566"])
    assert result.exit_code == 2
    assert "--aws" in result.output
    assert captured == []


def test_backend_event_bus_and_dsn_flags_choose_where_state_lives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: list[LocalSettings]
) -> None:
    """--backend, --event-bus and --dsn override the config; no SQLite folder is made for them."""
    monkeypatch.chdir(_project(tmp_path, 'service = "shop.api"\nbackend = "sqlite"'))
    args = ["local", "--backend", "postgres", "--event-bus", "postgres"]
    result = CliRunner().invoke(cli, [*args, "--dsn", "postgresql://u@h/db"])
    assert result.exit_code == 0, result.output
    [settings] = captured
    assert (settings.backend, settings.event_bus) == ("postgres", "postgres")
    assert settings.options["dsn"] == "postgresql://u@h/db"
    assert not (tmp_path / ".eventual").exists()


def test_task_limits_come_from_pyproject_and_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: list[LocalSettings]
) -> None:
    """[tool.eventual] task-concurrency and task-threads reach the engine; flags win over them."""
    table = 'service = "shop.api"\ntask-concurrency = 200\ntask-threads = 8'
    monkeypatch.chdir(_project(tmp_path, table))
    result = CliRunner().invoke(cli, ["local", "--task-threads", "16"])
    assert result.exit_code == 0, result.output
    [settings] = captured
    options = engine_options(dict(settings.options))
    assert options is not None
    assert (options.task_concurrency, options.task_threads) == (200, 16)


def test_storage_flags_with_aws_are_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: list[LocalSettings]
) -> None:
    """--backend or --dsn together with --aws is refused, naming the flags."""
    monkeypatch.chdir(_project(tmp_path))
    result = CliRunner().invoke(cli, ["local", "--aws", "--backend", "x", "--dsn", "d"])
    assert result.exit_code == 2
    assert "--backend, --dsn cannot be combined with --aws" in result.output
    assert captured == []
