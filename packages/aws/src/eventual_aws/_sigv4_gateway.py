"""A stand-in for API Gateway's IAM authorization, in front of an eventual service.

It checks each system API request's SigV4 signature the way API Gateway does:
the signature is computed again with botocore from the secret of the access
key the request names, for ``execute-api`` in the gateway's region, and a
missing or wrong one is answered 403 with API Gateway's bodies. What passes is
handed to a forwarding function unchanged: to a running ``eventual local``, or
to the simulator's API function (``Simulator.http``).

httpx and uvicorn are imported only where used: the forwarding function's
answer is an ``httpx.Response``, and :meth:`SigV4Gateway.serve` runs uvicorn.
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
from typing import TYPE_CHECKING, Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

if TYPE_CHECKING:
    import httpx

__all__ = ["ForwardRequest", "SigV4Gateway", "sigv4_refusal"]

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method."
)

ForwardRequest = Callable[[str, str, list[tuple[bytes, bytes]], bytes], Awaitable["httpx.Response"]]
"""Sends a request that passed (method, path with query, headers, body) to the service."""


def sigv4_refusal(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, str],
    region: str,
) -> str | None:
    """Return why API Gateway refuses the request (its message), or None when it is signed right.

    Args:
        method: The request's method.
        url: The full URL the request was sent to (its host is signed).
        headers: The request's headers, names in lower case.
        body: The request's body.
        secrets: The secret access key of each access key id the gateway knows.
        region: The gateway's region: a signature must be scoped to it and
            ``execute-api``.
    """
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


class SigV4Gateway:
    """An ASGI app that checks SigV4 signatures as API Gateway's IAM auth does.

    The system routes (``/_eventual/*`` but the OpenAPI document) need a
    signature that :func:`sigv4_refusal` accepts; a refused request is answered
    403 with API Gateway's message and counted in :attr:`refused`. Everything
    that passes goes to ``forward``, whose answer is sent back.

    Attributes:
        refused: The message of each refusal, in order.
    """

    def __init__(self, forward: ForwardRequest, secrets: Mapping[str, str], region: str) -> None:
        """Check with ``secrets`` (secret per access key id) in ``region``; pass to ``forward``."""
        self.forward = forward
        self.secrets = secrets
        self.region = region
        self.refused: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Answer one ASGI request: 403 when its signature does not check out, else forward."""
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
            problem = sigv4_refusal(scope["method"], url, headers, body, self.secrets, self.region)
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
    def serve(self, port: int) -> Iterator[str]:
        """Serve the gateway on 127.0.0.1:``port`` in a thread while the block runs.

        Yields its base URL. Needs uvicorn (which eventual-cli installs).

        Raises:
            ModuleNotFoundError: uvicorn is not installed.
        """
        try:
            import uvicorn
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                "SigV4Gateway.serve needs uvicorn: pip install uvicorn (eventual-cli has it)",
                name="uvicorn",
            ) from exc
        server = uvicorn.Server(
            uvicorn.Config(self, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"the SigV4 gateway on port {port} stopped as it started")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the SigV4 gateway on port {port} did not start in 20 s")
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(10)
