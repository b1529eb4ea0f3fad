"""Core's own plugin, registered first by ``get_plugin_manager()``.

Core's defaults go through the same hooks as everyone else's rather than being
special-cased in the loader, so the precedence a user reads about (installed
plugins over built-ins, the project over plugins) is the only precedence there is.
Backends themselves live in other distributions (eventual-engine provides the
embedded SQLite one), so core contributes settings, not providers.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._config import DEFAULT_BACKEND
from ._plugins import hookimpl

__all__ = ["eventual_config_defaults"]


@hookimpl
def eventual_config_defaults() -> Mapping[str, object]:
    """Propose the embedded SQLite backend, which needs no setup."""
    return {"backend": DEFAULT_BACKEND}
