"""SigV4: the CLI operates a service whose system API checks AWS signatures, as on AWS."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from click.testing import CliRunner, Result

from eventual_cli import cli
from eventual_cli._commands._api import ApiFailure, SystemClient
from eventual_cli._commands._sigv4 import region_of, signs

from .conftest import LiveServer, free_port

if TYPE_CHECKING:
    from eventual_aws.testing import ForwardRequest

# Signing and the checking gateway come with eventual-aws (the CLI's aws extra),
# which the CLI does not depend on: without it, only the tests that need neither run.
needs_aws = pytest.mark.skipif(
    importlib.util.find_spec("eventual_aws") is None, reason="needs eventual-cli[aws]"
)

KEY = "AKIDEVENTUALTEST"
SECRET = "eventual/test/secret/key"
REGION = "eu-west-1"


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials and a region from the environment only, as the standard chain reads them."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "EVENTUAL_SIGV4"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", REGION)


def _to(url: str) -> ForwardRequest:
    async def forward(
        method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> httpx.Response:
        drop = (b"host", b"authorization", b"content-length")
        kept = [(name, value) for name, value in headers if name.lower() not in drop]
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            return await client.request(method, target, headers=kept, content=body)

    return forward


@pytest.fixture(scope="module")
def gateway_url(live: LiveServer) -> Iterator[str]:
    """A checking gateway (secrets {KEY: SECRET}, region REGION) in front of `eventual local`."""
    from eventual_aws.testing import SigV4Gateway

    with SigV4Gateway(_to(live.url), {KEY: SECRET}, REGION).serve(free_port()) as url:
        yield url


def _run(url: str, *args: str, sigv4: str | None = "1") -> Result:
    env = {"EVENTUAL_URL": url, "COLUMNS": "200"}
    if sigv4 is not None:
        env["EVENTUAL_SIGV4"] = sigv4
    return CliRunner().invoke(cli, list(args), env=env)


def test_region_and_auto_detection() -> None:
    """An execute-api URL is signed by default, in the region its host names; others are not."""
    api = "https://a1b2c3.execute-api.eu-central-1.amazonaws.com"
    assert region_of(api) == "eu-central-1"
    assert region_of("https://x.execute-api.cn-north-1.amazonaws.com.cn/") == "cn-north-1"
    assert region_of("http://127.0.0.1:3111") is None
    assert region_of("https://orders.example.com") is None
    assert signs(api, None)
    assert not signs(api, False)
    assert not signs("https://orders.example.com", None)
    assert signs("https://orders.example.com", True)


@needs_aws
@pytest.mark.usefixtures("aws_credentials")
def test_signs_system_requests_only_and_verifiably() -> None:
    """System API requests carry a signature that checks out; commands and routes carry none."""
    from eventual_aws.testing import sigv4_refusal

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"executions": [], "next": None})

    url = "https://a1b2c3.execute-api.us-west-2.amazonaws.com"
    transport = httpx.MockTransport(answer)
    with SystemClient(url, transport=transport) as client:
        client.request("GET", "/_eventual/executions", params={"cursor": "a b+c/=", "limit": "5"})
        client.request("POST", "/_eventual/events/shipped", body=[{"order_id": "ü"}])
        client.request("POST", "/_rpc/quote", body={"items": []})
    listing, publish, command = seen
    assert listing.url.query == b"cursor=a%20b%2Bc%2F%3D&limit=5"
    assert "/us-west-2/execute-api/aws4_request" in listing.headers["authorization"]
    for request in (listing, publish):
        headers = dict(request.headers)
        checked = (request.method, str(request.url), headers)
        assert sigv4_refusal(*checked, request.content, {KEY: SECRET}, "us-west-2") is None
        tampered = sigv4_refusal(*checked, request.content + b" ", {KEY: SECRET}, "us-west-2")
        assert tampered is not None
        assert tampered.startswith("The request signature")
        elsewhere = sigv4_refusal(*checked, request.content, {KEY: SECRET}, "eu-west-1")
        assert elsewhere is not None
        assert "valid region" in elsewhere
    assert "authorization" not in command.headers


@needs_aws
@pytest.mark.usefixtures("aws_credentials", "services_path")
def test_every_operating_command_works_through_the_gateway(gateway_url: str) -> None:
    """Every command that talks to --url passes the gateway's signature check, replay included."""
    name = uuid.uuid4().hex[:10]
    order = json.dumps({"id": name, "items": ["book", "pen"]})
    started = _run(gateway_url, "start", "checkout", order, "--name", name, "--follow")
    assert started.exit_code == 0, started.output
    execution_id = f"checkout/{name}"
    listed = _run(gateway_url, "executions", "--workflow", "checkout", "--json")
    assert execution_id in {row["id"] for row in json.loads(listed.stdout)}
    shown = _run(gateway_url, "execution", execution_id, "--json")
    assert json.loads(shown.stdout)["status"] == "SUCCEEDED"
    history = _run(gateway_url, "history", execution_id, "--json")
    assert json.loads(history.stdout)[0]["type"] == "WorkflowStarted"
    assert _run(gateway_url, "export", execution_id).exit_code == 0
    replayed = _run(gateway_url, "replay", execution_id, "--service", "shopdemo")
    assert replayed.exit_code == 0, replayed.output
    assert f"✓ {execution_id}: replayed" in replayed.stdout

    approval = f"approve/{name}"
    assert _run(gateway_url, "start", "approve", json.dumps(name), "--name", name).exit_code == 0
    signalled = _run(gateway_url, "signal", approval, "approval", "true")
    assert signalled.exit_code == 0, signalled.output
    other = _run(gateway_url, "start", "approve", json.dumps("x"), "--name", f"{name}-c")
    assert other.exit_code == 0
    assert _run(gateway_url, "cancel", f"approve/{name}-c").exit_code == 0

    published = _run(gateway_url, "publish", "shipped", json.dumps({"order_id": name}))
    assert published.exit_code == 0, published.output
    deadline = time.monotonic() + 20
    while True:
        letters = json.loads(_run(gateway_url, "dead-letters", "--json", "--limit", "1000").stdout)
        mine = [letter for letter in letters if letter["event"]["payload"] == {"order_id": name}]
        if mine:
            break
        assert time.monotonic() < deadline, "no dead letter appeared"
        time.sleep(0.1)
    redriven = _run(gateway_url, "dead-letters", "--redrive", mine[0]["id"], "--json")
    assert json.loads(redriven.stdout) == {"redriven": 1}


@needs_aws
@pytest.mark.usefixtures("aws_credentials", "services_path")
def test_unsigned_requests_are_refused(gateway_url: str) -> None:
    """Without --sigv4 the gateway answers 403, and the error says to sign."""
    raw = httpx.get(f"{gateway_url}/_eventual/executions")
    assert (raw.status_code, raw.json()) == (403, {"message": "Forbidden"})
    result = _run(gateway_url, "executions", sigv4=None)
    assert result.exit_code == 1
    assert "Forbidden (HTTP 403)" in result.stderr
    assert "--sigv4" in result.stderr
    replayed = _run(gateway_url, "replay", "checkout/x", "--service", "shopdemo", sigv4="0")
    assert replayed.exit_code == 1
    assert "--sigv4" in replayed.stderr


@needs_aws
@pytest.mark.usefixtures("aws_credentials")
def test_a_session_token_is_signed_and_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Temporary credentials (SSO, an assumed role) send their session token, signed."""
    from eventual_aws.testing import sigv4_refusal

    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-1")
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    url = "https://a1b2c3.execute-api.eu-west-1.amazonaws.com"
    with SystemClient(url, transport=httpx.MockTransport(answer)) as client:
        client.request("GET", "/_eventual/health")
    [request] = seen
    assert request.headers["x-amz-security-token"] == "session-token-1"
    assert "x-amz-security-token" in request.headers["authorization"]
    headers = dict(request.headers)
    assert sigv4_refusal("GET", str(request.url), headers, b"", {KEY: SECRET}, REGION) is None
    headers["x-amz-security-token"] = "session-token-2"
    assert sigv4_refusal("GET", str(request.url), headers, b"", {KEY: SECRET}, REGION) is not None


@needs_aws
@pytest.mark.usefixtures("aws_credentials")
def test_a_wrong_secret_is_refused(gateway_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signature made with another secret is refused, and the error names the credentials."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    result = _run(gateway_url, "executions")
    assert result.exit_code == 1
    assert "refused the AWS-signed request" in result.stderr
    assert "signature we calculated does not match" in result.stderr
    assert "execute-api:Invoke" in result.stderr


@needs_aws
@pytest.mark.usefixtures("aws_credentials")
def test_missing_credentials_say_what_to_configure(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no credentials anywhere in the chain, the error says how to configure them."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ApiFailure, match=r"no AWS credentials .*aws configure"):
        SystemClient("https://a1b2c3.execute-api.eu-west-1.amazonaws.com")
    result = _run("http://127.0.0.1:9", "executions")
    assert result.exit_code == 1
    assert "no AWS credentials" in result.stderr


@needs_aws
@pytest.mark.usefixtures("aws_credentials")
def test_missing_region_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """A custom domain with no region configured asks for AWS_REGION."""
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(ApiFailure, match="set AWS_REGION"):
        SystemClient("https://orders.example.com", sigv4=True)


@pytest.mark.usefixtures("aws_credentials")
def test_missing_eventual_aws_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without eventual-aws, signing asks for the CLI's aws extra; unsigned use needs nothing."""
    monkeypatch.setitem(sys.modules, "eventual_aws", None)
    with pytest.raises(ApiFailure, match=r"pip install 'eventual-cli\[aws\]'"):
        SystemClient("https://a1b2c3.execute-api.eu-west-1.amazonaws.com")
    SystemClient("https://a1b2c3.execute-api.eu-west-1.amazonaws.com", sigv4=False).__exit__(
        None, None, None
    )
