"""eventual local: configuration, the token rule for other addresses, and clean shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from eventual import Service, workflow
from eventual_cli import LocalSettings, _local, cli, serve_local


@workflow
async def echo(text: str) -> str:
    return text


SERVICE = Service.from_definitions("echo", [echo])


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
        started = await client.post(
            "/_eventual/executions", json={"workflow": "echo", "input": "hi", "name": "one"}
        )
        assert started.status_code == 201
    os.kill(os.getpid(), signal.SIGINT)
    await asyncio.wait_for(server, 15)
    assert (tmp_path / "s.db").exists()
