"""pulumi-aws, with the submodules the component uses imported once, quietly.

pulumi-aws 7 warns (``DeprecationWarning``) while importing some of its modules,
about resources in them this package never uses (``lambda_.MicrovmsImage``,
``s3.BucketAccelerateConfigurationV2``). Those warnings say nothing about the
resources created here and would fail programs and tests that turn warnings
into errors, so they are silenced for these imports, and only there.
"""

from __future__ import annotations

import warnings

import pulumi_aws as aws

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pulumi_aws\.")
    # The submodules are lazy: touching one of their names is what imports them.
    for _module, _name in (
        (aws.apigatewayv2, "Api"),
        (aws.cloudwatch, "EventBus"),
        (aws.dynamodb, "Table"),
        (aws.iam, "Role"),
        (aws.lambda_, "Function"),
        (aws.s3, "Bucket"),
        (aws.scheduler, "ScheduleGroup"),
        (aws.sqs, "Queue"),
    ):
        getattr(_module, _name)

__all__ = ["aws"]
