"""eventual on the AWS CDK: the ``Service`` construct that renders a service's plan.

The names that need aws-cdk-lib are imported on first use: the package's plugin
is loaded by every ``eventual`` command, and importing aws-cdk-lib starts a
Node.js process (seconds) that a command not synthesizing has no use for.
``BundleOptions`` and ``BundleError`` are eventual-aws's, the bundler every
renderer shares, re-exported for the construct's ``bundling=``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from eventual_aws import BundleError as BundleError
from eventual_aws import BundleOptions as BundleOptions

if TYPE_CHECKING:
    from ._options import FunctionOptions as FunctionOptions
    from ._service import Service as Service

__all__ = [
    "BundleError",
    "BundleOptions",
    "FunctionOptions",
    "Service",
]

_NEEDS_CDK = {"FunctionOptions": "._options", "Service": "._service"}


def __getattr__(name: str) -> object:
    if name in _NEEDS_CDK:
        value = getattr(importlib.import_module(_NEEDS_CDK[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
