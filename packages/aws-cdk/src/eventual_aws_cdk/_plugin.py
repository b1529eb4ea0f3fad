"""eventual-aws-cdk's plugin, registered through the ``eventual`` entry-point group.

It contributes the ``aws-cdk`` deploy target and ``eventual synth``. Loading the
plugin imports neither aws-cdk-lib (seconds of jsii start-up) nor click: the
target imports the CDK when it synthesizes, and the command is built only when
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
    """Contribute ``aws-cdk``: a CDK app with the service, synthesized to a cloud assembly."""
    return [
        DeployTarget(
            name="aws-cdk",
            description="an AWS CDK cloud assembly (cdk.out) of the service, for `cdk deploy`",
            synthesize=_synthesize,
        )
    ]


@hookimpl
def eventual_cli_commands() -> Sequence[object]:
    """Contribute ``eventual synth``."""
    from ._cli import synth_command

    return [synth_command]
