"""eventual-aws-cdk's plugin, registered through the ``eventual`` entry-point group.

It contributes the ``aws-cdk`` deploy target, which ``eventual synth`` (from
eventual-aws's plugin) offers. Loading the plugin does not import aws-cdk-lib
(seconds of jsii start-up): the target imports the CDK when it synthesizes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eventual.plugins import DeployTarget, hookimpl

__all__ = ["eventual_deploy_targets"]


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
