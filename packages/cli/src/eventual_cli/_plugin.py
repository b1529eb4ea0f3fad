"""The CLI's built-in plugin: contributes ``eventual local`` and the others through the hook."""

from __future__ import annotations

from collections.abc import Sequence

from eventual.plugins import hookimpl

__all__ = ["eventual_cli_commands"]


@hookimpl
def eventual_cli_commands() -> Sequence[object]:
    """Return the built-in commands."""
    from ._client import client_group
    from ._commands import COMMANDS
    from ._local import local
    from ._new import new

    return [local, new, client_group, *COMMANDS]
