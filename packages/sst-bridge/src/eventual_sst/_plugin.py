"""eventual-sst's plugin, registered through the ``eventual`` entry-point group.

It contributes the ``sst`` deploy target and ``eventual sst add``. Loading it
imports neither click nor anything of the plan: the command is built only when
the CLI asks for commands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eventual.plugins import DeployTarget, hookimpl

__all__ = ["eventual_cli_commands", "eventual_deploy_targets"]


def _synthesize(service: object, settings: Mapping[str, object]) -> object:
    from ._target import synthesize

    return synthesize(service, settings)


@hookimpl
def eventual_deploy_targets() -> Sequence[DeployTarget]:
    """Contribute ``sst``: an SST v3 app (sst.config.ts and the component) holding the service."""
    return [
        DeployTarget(
            name="sst",
            description="an SST v3 app holding the service, for `sst deploy`",
            synthesize=_synthesize,
        )
    ]


@hookimpl
def eventual_cli_commands() -> Sequence[object]:
    """Contribute ``eventual sst`` (``eventual sst add``)."""
    from ._cli import sst_group

    return [sst_group]
