"""A stand-in for API Gateway's IAM authorization, in front of an eventual service.

It checks each system API request's SigV4 signature the way API Gateway does:
the signature is computed again with botocore from the secret of the access
key the request names, for ``execute-api`` in the gateway's region, and a
missing or wrong one is answered 403 with API Gateway's bodies. What passes is
forwarded to the service (a running ``eventual local``) unchanged.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

__all__ = ["Forward", "gateway", "refusal"]

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method."
)

Forward = Callable[[str, str, list[tuple[bytes, bytes]], bytes], Awaitable[httpx.Response]]
"""Sends a request that passed (method, path with query, headers, body) to the service."""


def refusal(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, str],
    region: str,
) -> str | None:
    """Return why API Gateway refuses the request (its message), or None when it is signed right."""
    authorization = headers.get("authorization")
    if authorization is None:
        return "Forbidden"
    match = _AUTHORIZATION.match(authorization)
    if match is None:
        return "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders'."
    if match["key"] not in secrets:
        return "The security token included in the request is invalid."
    if (match["region"], match["service"]) != (region, "execute-api"):
        return f"Credential should be scoped to a valid region and service {region}/execute-api."
    stamp = headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "Date header missing or malformed."
    if abs((datetime.now(UTC) - signed_at).total_seconds()) > 300:
        return "Signature expired."
    names = match["headers"].split(";")
    if "host" not in names or any(name not in headers for name in names):
        return _MISMATCH
    request = AWSRequest(
        method=method, url=url, data=body, headers={name: headers[name] for name in names}
    )
    request.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(match["key"], secrets[match["key"]]), "execute-api", region)
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    return None if hmac.compare_digest(expected, match["signature"]) else _MISMATCH


class _Gateway:
    def __init__(self, forward: Forward, secrets: Mapping[str, str], region: str) -> None:
        self.forward = forward
        self.secrets = secrets
        self.region = region
        self.refused: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        raw_headers: list[tuple[bytes, bytes]] = list(scope["headers"])
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in raw_headers}
        target = scope["raw_path"].decode("ascii")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("ascii")
        path = scope["path"]
        # The plan's IAM auth covers the system routes but its OpenAPI document.
        if path.startswith("/_eventual/") and path != "/_eventual/openapi.json":
            url = f"http://{headers.get('host', '')}{target}"
            problem = refusal(scope["method"], url, headers, body, self.secrets, self.region)
            if problem is not None:
                self.refused.append(problem)
                answer = json.dumps({"message": problem}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 403,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": answer})
                return
        response = await self.forward(scope["method"], target, raw_headers, body)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [
                    (name.encode(), value.encode())
                    for name, value in response.headers.items()
                    if name not in ("content-length", "transfer-encoding", "content-encoding")
                ],
            }
        )
        await send({"type": "http.response.body", "body": response.content})


@contextmanager
def gateway(
    forward: Forward, secrets: Mapping[str, str], region: str, port: int
) -> Iterator[_Gateway]:
    """Serve the checking gateway on 127.0.0.1:``port`` in a thread, while the block runs."""
    app = _Gateway(forward, secrets, region)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the gateway stopped"
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.02)
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(10)
