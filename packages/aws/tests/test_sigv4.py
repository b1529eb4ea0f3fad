"""SigV4Auth signs requests so that API Gateway's IAM authorization accepts them."""

from __future__ import annotations

import hmac
import re
from pathlib import Path

import httpx
import pytest
from botocore.auth import SigV4Auth as BotocoreSigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials

from eventual import ServiceClient, SyncServiceClient, command, workflow
from eventual_aws import SigV4Auth

KEY = "AKIDEVENTUALTEST"
SECRET = "eventual/test/secret/key"
API = "https://a1b2c3.execute-api.eu-central-1.amazonaws.com"

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/"
    r"aws4_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


@workflow
async def ship(item: str) -> str:
    return item


@command
async def quote(item: str) -> int:
    return len(item)


class _Rotating(Credentials):
    """Credentials that renew themselves before every use, as refreshable ones may."""

    def __init__(self) -> None:
        super().__init__(KEY, "rotation-0")
        self.uses = 0

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        self.uses += 1
        return ReadOnlyCredentials(KEY, f"rotation-{self.uses}", None)


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials and a region from the environment only, as the standard chain reads them."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


def _verifies(request: httpx.Request, secret: str = SECRET, token: str | None = None) -> bool:
    """Recompute the signature with botocore's own signer, from what was sent, and compare."""
    match = _AUTHORIZATION.match(request.headers["authorization"])
    assert match is not None, request.headers["authorization"]
    names = match["headers"].split(";")
    recomputed = AWSRequest(
        method=request.method,
        url=str(request.url),
        data=request.content,
        headers={name: request.headers[name] for name in names},
    )
    recomputed.context["timestamp"] = request.headers["x-amz-date"]
    signer = BotocoreSigV4Auth(
        Credentials(match["key"], secret, token), match["service"], match["region"]
    )
    expected = signer.signature(
        signer.string_to_sign(recomputed, signer.canonical_request(recomputed)), recomputed
    )
    return hmac.compare_digest(expected, match["signature"])


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={})


def _scope(request: httpx.Request) -> tuple[str, str, str]:
    match = _AUTHORIZATION.match(request.headers["authorization"])
    assert match is not None
    return match["key"], match["region"], match["service"]


@pytest.mark.usefixtures("aws_environment")
def test_a_signed_request_verifies_and_a_changed_one_does_not() -> None:
    """The signature covers method, path, query and body: botocore agrees; a changed body fails."""
    with httpx.Client(auth=SigV4Auth(), transport=httpx.MockTransport(_ok)) as http:
        response = http.post(
            f"{API}/_eventual/events/shipped", params={"tag": "a b+c"}, json=[{"item": "ü"}]
        )
    request = response.request
    assert {"authorization", "x-amz-date"} <= set(request.headers)
    assert "x-amz-security-token" not in request.headers
    assert request.url.query == b"tag=a%20b%2Bc"
    assert _scope(request) == (KEY, "eu-central-1", "execute-api")
    assert _verifies(request)
    changed = httpx.Request(
        request.method, request.url, headers=request.headers, content=request.content + b" "
    )
    assert not _verifies(changed)
    assert not _verifies(response.request, secret="another secret")


@pytest.mark.usefixtures("aws_environment")
def test_a_session_token_is_sent_and_signed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Temporary credentials send X-Amz-Security-Token, inside the signature."""
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-1")
    with httpx.Client(auth=SigV4Auth(), transport=httpx.MockTransport(_ok)) as http:
        request = http.get(f"{API}/_eventual/health").request
    assert request.headers["x-amz-security-token"] == "session-token-1"
    assert "x-amz-security-token" in request.headers["authorization"]
    assert _verifies(request, token="session-token-1")


@pytest.mark.usefixtures("aws_environment")
def test_region_service_and_credentials_can_be_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit region, service and credentials win over the URL and the environment."""
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    given = Credentials("AKIDGIVEN", "given/secret")
    explicit = SigV4Auth("ap-south-1", credentials=given, service="lambda")
    transport = httpx.MockTransport(_ok)
    with httpx.Client(auth=explicit, transport=transport) as http:
        request = http.get(f"{API}/x").request
    assert _scope(request) == ("AKIDGIVEN", "ap-south-1", "lambda")
    assert _verifies(request, secret="given/secret")
    with httpx.Client(auth=SigV4Auth(), transport=transport) as http:
        custom = http.get("https://orders.example.com/_eventual/health").request
        gateway = http.get(f"{API}/_eventual/health").request
    assert _scope(custom)[1] == "us-east-2"
    assert _scope(gateway)[1] == "eu-central-1"


@pytest.mark.usefixtures("aws_environment")
def test_a_profile_signs_with_its_own_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """profile= reads that profile's keys and region from the shared files."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = ops/secret\n"
    )
    config = tmp_path / "config"
    config.write_text("[profile ops]\nregion = sa-east-1\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    auth = SigV4Auth(profile="ops")
    with httpx.Client(auth=auth, transport=httpx.MockTransport(_ok)) as http:
        request = http.get("https://orders.example.com/_eventual/health").request
    assert _scope(request) == ("AKIDOPS", "sa-east-1", "execute-api")
    assert _verifies(request, secret="ops/secret")


@pytest.mark.usefixtures("aws_environment")
def test_what_is_missing_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """No region, no credentials, or both profile and credentials: each error says what to do."""
    http = httpx.Client(auth=SigV4Auth(), transport=httpx.MockTransport(_ok))
    with http, pytest.raises(ValueError, match=r"orders\.example\.com.*AWS_REGION"):
        http.get("https://orders.example.com/_eventual/health")
    with pytest.raises(ValueError, match=r"'ops'.*not both"):
        SigV4Auth(profile="ops", credentials=Credentials(KEY, SECRET))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ValueError, match=r"no AWS credentials .*aws configure"):
        SigV4Auth()


def test_the_sync_client_signs_system_requests_and_every_retry() -> None:
    """SyncServiceClient(auth=SigV4Auth()) signs each try of a start anew, and no command."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ConnectError("dropped", request=request)
        if request.url.path == "/_rpc/quote":
            return httpx.Response(200, json=4)
        return httpx.Response(201, json={"id": "ship/o1", "status": "RUNNING"})

    rotating = _Rotating()
    auth = SigV4Auth(credentials=rotating)
    with SyncServiceClient(API, auth=auth, transport=httpx.MockTransport(answer)) as client:
        handle = client.start(ship, "lamp", name="o1")
        assert client.call(quote, "lamp") == 4
    assert handle.id == "ship/o1"
    first, retry, called = seen
    assert first.headers["idempotency-key"] == retry.headers["idempotency-key"]
    # Each try was signed when it was sent, with the credentials of that moment.
    assert _verifies(first, secret="rotation-1")
    assert _verifies(retry, secret="rotation-2")
    assert rotating.uses == 2
    assert "authorization" not in called.headers


@pytest.mark.usefixtures("aws_environment")
async def test_the_async_client_signs_system_requests_only() -> None:
    """ServiceClient(auth=SigV4Auth()) signs the system API's requests; commands go unsigned."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.startswith("/_rpc/"):
            return httpx.Response(200, json=4)
        return httpx.Response(200, json={"executions": [], "next": None})

    transport = httpx.MockTransport(answer)
    async with ServiceClient(API, auth=SigV4Auth(), transport=transport) as client:
        assert await client.executions(workflow="ship") == []
        assert await client.call(quote, "lamp") == 4
    listing, called = seen
    assert listing.url.path == "/_eventual/executions"
    assert _verifies(listing)
    assert "authorization" not in called.headers
