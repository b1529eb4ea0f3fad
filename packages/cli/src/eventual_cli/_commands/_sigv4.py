"""SigV4 signing of system API requests, for a service deployed behind IAM auth.

On AWS the plan puts API Gateway's IAM authorization on the system routes
(``/_eventual/*``): API Gateway checks each request's AWS Signature Version 4
before the function runs. The CLI signs with ``eventual_aws.SigV4Auth``
(the extra ``eventual-cli[aws]``), the signer ``ServiceClient`` takes too: from
the standard AWS credential chain (environment, ``AWS_PROFILE``, SSO, instance
and container roles), for the service ``execute-api`` in the region named by the
URL's host, else ``AWS_REGION`` or the profile's region. eventual-aws is
imported only when requests are signed, so the CLI of a laptop running
``eventual local`` never needs it.

Whether to sign: ``--sigv4`` / ``--no-sigv4`` (env ``EVENTUAL_SIGV4``) decide;
without either, requests to an API Gateway host (``*.execute-api.<region>
.amazonaws.com``) are signed, since that is what a deployed service answers
on, and others (``eventual local``, a custom domain) are not.
"""

from __future__ import annotations

import re
import urllib.parse

import httpx

__all__ = ["NeedsSetup", "region_of", "signer", "signs"]

_EXECUTE_API = re.compile(
    r"^[a-z0-9]+\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)


class NeedsSetup(Exception):
    """Signing cannot start: eventual-aws, credentials or a region is missing (the message says)."""


def region_of(url: str) -> str | None:
    """Return the region an API Gateway URL's host names, or None for any other URL."""
    host = urllib.parse.urlsplit(url).hostname or ""
    match = _EXECUTE_API.match(host)
    return match["region"] if match else None


def signs(url: str, sigv4: bool | None) -> bool:
    """Return whether requests to ``url`` are signed: as ``sigv4`` says, else for API Gateway."""
    return sigv4 if sigv4 is not None else region_of(url) is not None


def signer(url: str) -> tuple[httpx.Auth, str]:
    """Return the auth that signs requests to ``url`` with SigV4, and the region it signs for.

    Raises:
        NeedsSetup: eventual-aws is not installed, or no credentials or region are configured.
    """
    try:
        from eventual_aws import SigV4Auth
    except ImportError:
        raise NeedsSetup(
            "signing requests with AWS credentials (SigV4) needs eventual-aws: "
            "pip install 'eventual-cli[aws]'"
        ) from None
    try:
        auth = SigV4Auth()
    except ValueError as problem:
        raise NeedsSetup(str(problem)) from None
    region = auth.region_for(url)
    if region is None:
        raise NeedsSetup(
            f"no AWS region to sign requests to {url} with: set AWS_REGION "
            "(or the profile's region), or use the API's execute-api URL"
        )
    return auth, region
