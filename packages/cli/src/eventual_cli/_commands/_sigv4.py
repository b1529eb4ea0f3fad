"""SigV4 signing of system API requests, for a service deployed behind IAM auth.

On AWS the plan puts API Gateway's IAM authorization on the system routes
(``/_eventual/*``): API Gateway checks each request's AWS Signature Version 4
before the function runs. The CLI signs with botocore (the extra
``eventual-cli[aws]``), from the standard AWS credential chain (environment,
``AWS_PROFILE``, SSO, instance and container roles), for the service
``execute-api`` in the region named by the URL's host, else ``AWS_REGION`` or
the profile's region. botocore is imported only when a request is signed, so
the CLI of a laptop running ``eventual local`` never needs it.

Whether to sign: ``--sigv4`` / ``--no-sigv4`` (env ``EVENTUAL_SIGV4``) decide;
without either, requests to an API Gateway host (``*.execute-api.<region>
.amazonaws.com``) are signed, since that is what a deployed service answers
on, and others (``eventual local``, a custom domain) are not.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Generator
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from botocore.credentials import ReadOnlyCredentials

__all__ = ["SERVICE", "AwsSigner", "NeedsSetup", "region_of", "signs"]

SERVICE = "execute-api"
"""The service name API Gateway's IAM authorization checks signatures for."""

_EXECUTE_API = re.compile(
    r"^[a-z0-9]+\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
# Headers a proxy may change or add on the way: never signed.
_SIGNED = ("content-type",)


class NeedsSetup(Exception):
    """Signing cannot start: botocore, credentials or a region is missing (the message says)."""


def region_of(url: str) -> str | None:
    """Return the region an API Gateway URL's host names, or None for any other URL."""
    host = urllib.parse.urlsplit(url).hostname or ""
    match = _EXECUTE_API.match(host)
    return match["region"] if match else None


def signs(url: str, sigv4: bool | None) -> bool:
    """Return whether requests to ``url`` are signed: as ``sigv4`` says, else for API Gateway."""
    return sigv4 if sigv4 is not None else region_of(url) is not None


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


class AwsSigner(httpx.Auth):
    """Signs each request with SigV4 for ``execute-api``, with fresh credentials each time.

    Args:
        url: The service's URL (its host may name the region).

    Raises:
        NeedsSetup: botocore is not installed, or no credentials or region are configured.
    """

    requires_request_body = True

    def __init__(self, url: str) -> None:
        try:
            import botocore.session
            from botocore.exceptions import BotoCoreError
        except ImportError:
            raise NeedsSetup(
                "signing requests with AWS credentials (SigV4) needs botocore: "
                "pip install 'eventual-cli[aws]'"
            ) from None
        session = botocore.session.Session()
        try:
            region = (
                region_of(url)
                or os.environ.get("AWS_REGION")
                or session.get_config_variable("region")
            )
            credentials = session.get_credentials()
        except BotoCoreError as error:
            raise NeedsSetup(f"cannot read the AWS configuration: {error}") from None
        if credentials is None:
            raise NeedsSetup(
                "no AWS credentials to sign requests with: configure them as for the AWS CLI "
                "(`aws configure`, `aws sso login`, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY)"
            )
        if not region:
            raise NeedsSetup(
                f"no AWS region to sign requests to {url} with: set AWS_REGION "
                "(or the profile's region), or use the API's execute-api URL"
            )
        self.region: str = region
        self._credentials = credentials

    def _frozen(self) -> ReadOnlyCredentials:
        # Refreshable credentials (SSO, assumed roles) renew themselves here.
        return self._credentials.get_frozen_credentials()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add ``Authorization``, ``X-Amz-Date`` (and the session token) to ``request``."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request.url = request.url.copy_with(query=_canonical_query(request.url) or None)
        headers = {name: request.headers[name] for name in _SIGNED if name in request.headers}
        signed = AWSRequest(
            method=request.method, url=str(request.url), data=request.content, headers=headers
        )
        SigV4Auth(self._frozen(), SERVICE, self.region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            value = signed.headers.get(name)
            if value is not None:
                request.headers[name] = value
        yield request
