"""The CLI operates a service on the AWS runtime through IAM auth: replay and dead letters.

A gateway that checks SigV4 signatures as API Gateway does
(``eventual_aws.testing.SigV4Gateway``) stands in front of the simulator's API function, so the
requests take the deployed path: signed by the CLI, checked, turned into
payload 2.0 events for the ``api`` handler, answered from DynamoDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from eventual import ExecutionStatus, HttpError, ServiceClient
from eventual_aws import SigV4Auth, Simulator
from eventual_aws.testing import SigV4Gateway
from eventual_engine import HttpApp

from .conftest import MakePackage

eventual_cli = pytest.importorskip("eventual_cli")

KEY = "AKIDEVENTUALTEST"
SECRET = "eventual/test/secret/key"
REGION = "us-east-1"

SOURCE = """
from eventual import RetryPolicy, event, subscription, task, workflow

shipped = event("Shipped", str)


@task
async def pack(item: str) -> str:
    return f"packed {item}"


@workflow
async def ship(item: str) -> str:
    packed = await pack(item)
    await shipped.publish(item)
    return packed


@subscription(shipped, retry=RetryPolicy(max_attempts=1))
async def notify(item: str) -> None:
    raise RuntimeError(f"cannot notify about {item}")
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def _checking_gateway(sim: Simulator, port: int) -> Iterator[SigV4Gateway]:
    """Check signatures on ``port`` as API Gateway does, then answer through ``sim.http``."""
    loop = asyncio.get_running_loop()

    async def forward(
        method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> httpx.Response:
        kept = {
            name.decode(): value.decode()
            for name, value in headers
            if name.lower() not in (b"host", b"content-length", b"authorization")
        }
        call = sim.http(method, target, content=body, headers=kept)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call, loop))

    gateway = SigV4Gateway(forward, {KEY: SECRET}, REGION)
    with gateway.serve(port):
        yield gateway


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The CLI's credentials and region, from the environment only."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "EVENTUAL_SIGV4"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", REGION)


async def _cli(url: str, *args: str) -> Result:
    # In a thread: the simulator's handlers run on this event loop meanwhile.
    env = {"EVENTUAL_URL": url, "EVENTUAL_SIGV4": "1", "COLUMNS": "200"}
    return await asyncio.to_thread(CliRunner().invoke, eventual_cli.cli, list(args), env=env)


@pytest.mark.usefixtures("aws_credentials")
async def test_replay_and_dead_letters_of_the_aws_runtime_through_iam_auth(
    make_service: MakePackage, endpoint: str
) -> None:
    """A signed CLI replays from DynamoDB and redrives eventbridge dead letters; unsigned is 403."""
    module = make_service(SOURCE)
    async with Simulator(module, endpoint_url=endpoint, prefix="signed") as sim:
        ship = sim.service.workflows["ship"]
        handle = await sim.start(ship, "lamp", name="o1")
        assert await asyncio.wait_for(handle.result(), 60) == "packed lamp"

        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with _checking_gateway(sim, port) as gateway:
            replayed = await _cli(url, "replay", "ship/o1", "--service", module)
            assert replayed.exit_code == 0, replayed.output
            assert "✓ ship/o1: replayed" in replayed.stdout

            letters: list[dict[str, object]] = []
            for _ in range(100):
                listed = await _cli(url, "dead-letters", "--json")
                assert listed.exit_code == 0, listed.output
                letters = json.loads(listed.stdout)
                if letters:
                    break
                await asyncio.sleep(0.2)
            [letter] = letters
            assert (letter["subscription"], letter["error_type"]) == ("notify", "RuntimeError")
            # `eventual local --aws` serves the simulator's client, which reaches them too.
            served = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=HttpApp(sim.engine)), base_url="http://test"
            )
            async with served:
                local = await served.get("/_eventual/dead-letters")
            assert local.status_code == 200
            assert [found["id"] for found in local.json()["dead_letters"]] == [letter["id"]]
            redriven = await _cli(url, "dead-letters", "--redrive", str(letter["id"]), "--json")
            assert redriven.exit_code == 0, redriven.output
            assert json.loads(redriven.stdout) == {"redriven": 1}

            unsigned = await asyncio.to_thread(httpx.get, f"{url}/_eventual/dead-letters")
            assert unsigned.status_code == 403
            assert gateway.refused == ["Forbidden"]


@pytest.mark.usefixtures("aws_credentials")
async def test_a_service_client_signed_with_sigv4auth_operates_the_aws_runtime(
    make_service: MakePackage, endpoint: str
) -> None:
    """ServiceClient(auth=SigV4Auth()) starts, follows and lists via IAM auth; unsigned is 403."""
    module = make_service(SOURCE)
    async with Simulator(module, endpoint_url=endpoint, prefix="client") as sim:
        ship = sim.service.workflows["ship"]
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with _checking_gateway(sim, port) as gateway:
            async with ServiceClient(url, auth=SigV4Auth()) as client:
                handle = await client.start(ship, "desk", name="c1")
                assert await asyncio.wait_for(handle.result(), 60) == "packed desk"
                [record] = await client.executions(ship)
                assert (record.id, record.status) == ("ship/c1", ExecutionStatus.SUCCEEDED)
            async with ServiceClient(url) as unsigned:
                with pytest.raises(HttpError) as refused:
                    await unsigned.executions(ship)
            assert refused.value.status == 403
            assert gateway.refused == ["Forbidden"]
