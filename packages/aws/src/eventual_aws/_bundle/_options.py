"""What a bundle is built with and what it never holds: ``BundleOptions``, ``BundleError``."""

from __future__ import annotations

from typing import Final

import attrs

__all__ = ["CACHE_ENV_VAR", "FORBIDDEN", "RUNTIME_DISTRIBUTION", "BundleError", "BundleOptions"]

FORBIDDEN: Final = frozenset(
    {
        "aws-cdk-lib",
        "constructs",
        "jsii",
        "pulumi",
        "pulumi-aws",
        "click",
        "uvicorn",
        "rich",
        "eventual-cli",
        "eventual-aws-cdk",
        "eventual-pulumi",
        "eventual-sst",
    }
)
"""Distributions a Lambda bundle never contains: deploy tooling and the command line."""

CACHE_ENV_VAR: Final = "EVENTUAL_BUNDLE_CACHE"
"""Names a folder where bundles are kept across renders (a CI cache)."""

RUNTIME_DISTRIBUTION: Final = "eventual-aws"
"""What the handlers need: the AWS runtime, and through it core, engine and messaging."""


class BundleError(Exception):
    """The Lambda code could not be bundled; the message says what and how to fix it."""


@attrs.frozen(kw_only=True)
class BundleOptions:
    """How the Lambda code is bundled; every renderer takes these.

    Attributes:
        include_boto3: Bundle boto3 and botocore (the default), so the functions
            run the SDK version eventual-aws was tested with instead of the one
            Lambda's runtime happens to carry; ``False`` leaves them out and
            uses the runtime's (a smaller bundle, an SDK that changes under you).
        offline: Resolve and install from uv's cache only (``uv --offline``).
        index_url: Another package index than PyPI.
        find_links: Folders or pages of wheels to look in as well.
        requirements: Extra requirement lines to install beside the service's own.
        cache_dir: Where bundles are kept between renders; default: the
            ``EVENTUAL_BUNDLE_CACHE`` environment variable, else the renderer's
            own (the CDK: ``cdk.out/eventual-bundles``; Pulumi:
            ``.eventual/bundles``).
        compile_bytecode: Write ``.pyc`` files (Lambda's code folder is read-only,
            so Python cannot cache them there); only done when the rendering
            Python has the Lambda runtime's version.
    """

    include_boto3: bool = True
    offline: bool = False
    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    cache_dir: str | None = None
    compile_bytecode: bool = True
