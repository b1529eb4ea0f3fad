"""Testing against what AWS adds in front of a service: API Gateway's IAM check.

On AWS the system routes (``/_eventual/*``) answer only requests signed with
AWS Signature Version 4 for ``execute-api``. :class:`SigV4Gateway` checks
signatures the same way, in front of a running ``eventual local`` or the
``Simulator``'s API function, so a client's signing is tested offline::

    from eventual_aws.testing import SigV4Gateway

    gateway = SigV4Gateway(forward, {"AKIDEXAMPLE": "secret"}, "eu-west-1")
    with gateway.serve(port) as url:
        ...  # signed requests to url pass; others get API Gateway's 403
    assert gateway.refused == []

Importing it loads botocore (an eventual-aws dependency), neither httpx nor
uvicorn.
"""

from __future__ import annotations

from ._sigv4_gateway import ForwardRequest as ForwardRequest
from ._sigv4_gateway import SigV4Gateway as SigV4Gateway
from ._sigv4_gateway import sigv4_refusal as sigv4_refusal

__all__ = ["ForwardRequest", "SigV4Gateway", "sigv4_refusal"]
