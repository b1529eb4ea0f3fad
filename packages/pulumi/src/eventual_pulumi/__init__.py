"""eventual on Pulumi: the ``Service`` component renders a service's AWS plan with pulumi-aws.

The names are imported on first use: the package's plugin is loaded by every
``eventual`` command, and importing pulumi-aws takes seconds that a command not
deploying has no use for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._functions import Function as Function
    from ._http import HttpApi as HttpApi
    from ._options import FunctionOverrides as FunctionOverrides
    from ._service import Service as Service
    from ._storage import Bucket as Bucket

__all__ = ["Bucket", "Function", "FunctionOverrides", "HttpApi", "Service"]

_MODULES = {
    "Bucket": "._storage",
    "Function": "._functions",
    "FunctionOverrides": "._options",
    "HttpApi": "._http",
    "Service": "._service",
}


def __getattr__(name: str) -> object:
    if name in _MODULES:
        value = getattr(importlib.import_module(_MODULES[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
