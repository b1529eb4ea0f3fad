"""eventual-aws's plugin, registered through the ``eventual`` entry-point group.

It contributes ``eventual plan``, ``eventual synth`` (for every deploy target
plugins register) and the hidden ``local-aws`` command behind ``eventual local
--aws``. Commands are built only when the CLI asks, so loading
the plugin imports neither click nor boto3.
"""

from __future__ import annotations

from collections.abc import Sequence

from eventual.plugins import hookimpl

__all__ = ["eventual_cli_commands"]


@hookimpl
def eventual_cli_commands() -> Sequence[object]:
    """Contribute ``eventual plan``, ``eventual synth`` and ``local-aws`` (for ``local --aws``)."""
    from ._deploy._cli import synth_command
    from ._plan._cli import plan_command
    from ._simulator._cli import local_aws_command

    return [plan_command, local_aws_command, synth_command]
