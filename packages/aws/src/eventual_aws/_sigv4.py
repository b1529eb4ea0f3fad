"""SigV4 signing of requests to a service deployed behind API Gateway's IAM auth.

On AWS the plan puts IAM authorization on the system routes (``/_eventual/*``):
API Gateway checks each request's AWS Signature Version 4 before the function
runs. ``SigV4Auth`` is an ``httpx.Auth`` that signs with botocore's signer, so
``ServiceClient(url, auth=SigV4Auth())``, ``SyncServiceClient`` and the
``eventual`` CLI sign the same way. It lives here rather than in eventual-core
so that core never needs botocore.

Each request is signed when it is sent, with the credentials of that moment
(refreshable credentials such as SSO or assumed roles renew themselves) and a
fresh ``X-Amz-Date``: a retry under one ``Idempotency-Key`` is signed again,
never sent with a stale signature.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Generator
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from botocore.credentials import Credentials

__all__ = ["SigV4Auth"]

_EXECUTE_API = re.compile(
    r"^[a-z0-9]+\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
# Headers a proxy may change or add on the way are never signed.
_SIGNED = ("content-type",)


def _region_of(url: httpx.URL) -> str | None:
    match = _EXECUTE_API.match(url.host)
    return match["region"] if match else None


def _canonical_query(url: httpx.URL) -> bytes:
    # SigV4 wants every key and value percent-encoded with only the unreserved
    # characters left as they are (a space is %20, never "+"), and API Gateway
    # canonicalises what it received that way: sending the query in exactly
    # this form makes the signed and the checked strings the same.
    pairs = sorted(
        (urllib.parse.quote(key, safe="-_.~"), urllib.parse.quote(value, safe="-_.~"))
        for key, value in url.params.multi_items()
    )
    return "&".join(f"{key}={value}" for key, value in pairs).encode("ascii")


class SigV4Auth(httpx.Auth):
    """Signs each request with AWS Signature Version 4 (``Authorization``, ``X-Amz-Date``).

    Pass it as ``auth=`` to ``ServiceClient`` or ``SyncServiceClient`` to operate
    a service deployed on AWS, whose system API uses IAM authorization: they
    sign the system API's requests (``/_eventual/...``) with it. Any httpx client
    may use it too.

    Example:
        async with ServiceClient(api_url, auth=SigV4Auth()) as client:
            handle = await client.start(fulfil, order, name="o1")

    Args:
        region: The region to sign for. By default, the one an API Gateway URL
            (``<id>.execute-api.<region>.amazonaws.com``) names, else
            ``AWS_REGION`` or the profile's region.
        profile: The AWS profile whose credentials sign (the shared config and
            credentials files); by default the standard AWS credential chain
            (environment, ``AWS_PROFILE``, SSO, container and instance roles).
        credentials: botocore credentials to sign with instead of a profile's
            (``boto3.Session().get_credentials()`` gives them).
        service: The service name signed for: ``execute-api`` for API Gateway.

    Raises:
        ValueError: Both ``profile`` and ``credentials`` were given, or no
            credentials could be found. A request whose region is unknown (no
            ``region``, not an API Gateway URL, no region configured) raises
            ``ValueError`` when it is sent.
    """

    requires_request_body = True

    def __init__(
        self,
        region: str | None = None,
        *,
        profile: str | None = None,
        credentials: Credentials | None = None,
        service: str = "execute-api",
    ) -> None:
        import botocore.session
        from botocore.exceptions import BotoCoreError

        if profile is not None and credentials is not None:
            raise ValueError(
                f"SigV4Auth takes a profile ({profile!r}) or credentials, not both: "
                "pass only one of them"
            )
        session = botocore.session.Session(profile=profile)
        try:
            configured = os.environ.get("AWS_REGION") or session.get_config_variable("region")
            if credentials is None:
                credentials = session.get_credentials()
        except BotoCoreError as error:
            raise ValueError(f"cannot read the AWS configuration: {error}") from None
        if credentials is None:
            raise ValueError(
                "no AWS credentials to sign requests with: configure them as for the AWS CLI "
                "(`aws configure`, `aws sso login`, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY), or pass credentials="
            )
        self._region = region
        self._configured: str | None = configured if isinstance(configured, str) else None
        self._credentials: Credentials = credentials
        self.service = service

    def __repr__(self) -> str:
        return f"SigV4Auth(region={self._region!r}, service={self.service!r})"

    def region_for(self, url: httpx.URL | str) -> str | None:
        """Return the region a request to ``url`` is signed for, or None when none is known."""
        return self._region or _region_of(httpx.URL(url)) or self._configured

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add ``Authorization``, ``X-Amz-Date`` (and ``X-Amz-Security-Token``) to ``request``.

        Raises:
            ValueError: No region is known for the request's URL.
        """
        from botocore.auth import SigV4Auth as BotocoreSigV4Auth
        from botocore.awsrequest import AWSRequest

        region = self.region_for(request.url)
        if region is None:
            raise ValueError(
                f"no AWS region to sign the request to {request.url} for: pass "
                "SigV4Auth(region=...), set AWS_REGION (or the profile's region), "
                "or use the API's execute-api URL"
            )
        request.url = request.url.copy_with(query=_canonical_query(request.url) or None)
        headers = {name: request.headers[name] for name in _SIGNED if name in request.headers}
        signed = AWSRequest(
            method=request.method, url=str(request.url), data=request.content, headers=headers
        )
        # Refreshable credentials (SSO, assumed roles) renew themselves here.
        frozen = self._credentials.get_frozen_credentials()
        BotocoreSigV4Auth(frozen, self.service, region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            value = signed.headers.get(name)
            if value is not None:
                request.headers[name] = value
        yield request
