"""``eventual local --aws`` serves a service from the simulator, through the CLI's server."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from eventual_aws import Simulator
from eventual_aws._simulator import _cli

eventual_cli = pytest.importorskip("eventual_cli")


class NoHandlers:
    """Handlers that do nothing: the HTTP API is served by the CLI's own HttpApp."""

    async def invoke(
        self, kind: str, event: Mapping[str, Any], context: object, environment: Mapping[str, str]
    ) -> dict[str, Any] | None:
        return None

    def requests(self) -> Counter[str]:
        return Counter()

    async def close(self) -> None:
        return None


def test_local_aws_forwards_its_options_to_the_simulator_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`eventual local --aws --endpoint-url URL` runs the simulator on that endpoint."""
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n\n[tool.eventual]\nservice = \"orders.service\"\n"
    )
    monkeypatch.chdir(tmp_path)
    seen: list[tuple[Any, Any]] = []

    async def record(settings: Any, *, announce: Any = None, runtime: Any = None) -> None:
        seen.append((settings, runtime))

    monkeypatch.setattr(eventual_cli, "serve_local", record)
    result = CliRunner().invoke(
        eventual_cli.cli, ["local", "--aws", "--endpoint-url", "http://127.0.0.1:1", "--port", "0"]
    )
    assert result.exit_code == 0, result.output
    [(settings, runtime)] = seen
    assert settings.service == "orders.service"
    assert settings.port == 0
    assert isinstance(runtime, Simulator)
    assert runtime.endpoint_url == "http://127.0.0.1:1"
    assert _cli.local_aws_command.hidden


def test_local_aws_takes_shard_counts_from_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project's aws_*_shards options reach every function of the simulator's plan."""
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n\n[tool.eventual]\nservice = \"orders.service\"\n"
        "aws_listing_shards = 4\naws_outbox_shards = 2\n"
    )
    monkeypatch.chdir(tmp_path)
    seen: list[Any] = []

    async def record(settings: Any, *, announce: Any = None, runtime: Any = None) -> None:
        seen.append(runtime)

    monkeypatch.setattr(eventual_cli, "serve_local", record)
    result = CliRunner().invoke(
        eventual_cli.cli, ["local", "--aws", "--endpoint-url", "http://127.0.0.1:1", "--port", "0"]
    )
    assert result.exit_code == 0, result.output
    [runtime] = seen
    for function in runtime.plan.functions:
        assert function.environment["EVENTUAL_AWS_LISTING_SHARDS"] == "4"
        assert function.environment["EVENTUAL_AWS_OUTBOX_SHARDS"] == "2"
        assert "EVENTUAL_AWS_TIMER_SHARDS" not in function.environment


async def test_serve_local_answers_from_the_aws_runtime(endpoint: str) -> None:
    """The system API served for --aws starts executions in DynamoDB and lists them back."""
    urls: list[str] = []
    ready = asyncio.Event()

    def announce(url: str) -> None:
        urls.append(url)
        ready.set()

    simulator = Simulator(
        "orders.service", endpoint_url=endpoint, prefix="served", functions=NoHandlers()
    )
    settings = eventual_cli.LocalSettings(service="orders.service", port=0)
    server = asyncio.create_task(
        eventual_cli.serve_local(settings, announce=announce, runtime=simulator)
    )
    await asyncio.wait_for(ready.wait(), 30)
    async with httpx.AsyncClient(base_url=urls[0]) as client:
        started = await client.post(
            "/_eventual/executions",
            json={
                "workflow": "fulfil",
                "input": {"id": "o1", "item": "book", "quantity": 1},
                "name": "o1",
            },
        )
        assert started.status_code == 201, started.text
        listed = await client.get("/_eventual/executions/fulfil/o1")
        assert listed.status_code == 200, listed.text
        assert listed.json()["status"] == "RUNNING"
    assert simulator.requests["dynamodb.TransactWriteItems"] >= 1
    os.kill(os.getpid(), signal.SIGINT)
    await asyncio.wait_for(server, 30)
