"""cdk-nag's AwsSolutions findings this construct accepts, each with its reason.

Acknowledged with CDK's ``Validations`` (what cdk-nag 3 reads) on the construct
each finding is about, never on the stack, so a user's own resources are still
checked, and a finding this list does not name still fails their synth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct

if TYPE_CHECKING:
    from ._service import Service

__all__ = ["acknowledge"]

_PACK: Final = "AwsSolutions::"

RUNTIME_REASON: Final = (
    "The plan pins each function's runtime (python3.11, the oldest Python eventual supports, "
    "which the bundle's wheels are installed for); the runtime moves with the plan, not here."
)
INDEX_REASON: Final = (
    "Executions are listed and found through the table's global secondary indexes; the "
    "statement names this table's indexes only (<table ARN>/index/*)."
)
OBJECTS_REASON: Final = (
    "Payloads stored by reference have one object key each; the statement grants get and put "
    "on this bucket's objects only (<bucket ARN>/*), nothing on the bucket itself."
)
SCHEDULES_REASON: Final = (
    "Timer schedules are created at run time with names the plan cannot know; the statement "
    "is limited to the service's own schedule group (schedule/<group>/*)."
)


def _logical_id(construct: IConstruct) -> str:
    element = construct.node.default_child
    assert isinstance(element, CfnElement)
    logical = Stack.of(construct).resolve(element.logical_id)
    assert isinstance(logical, str)
    return logical


def _ack(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=_PACK + rule, reason=reason))


def acknowledge(service: Service) -> None:
    """Acknowledge the findings the plan's design accepts on ``service``'s constructs."""
    _ack(
        service.bucket,
        "AwsSolutions-S1",
        "The bucket holds payloads by reference, read and written only by the service's own "
        "roles; server access logs would be a second bucket the plan does not list (CloudTrail "
        "data events audit object access when needed).",
    )
    _ack(
        service.queues["queue.forwarder-dlq"],
        "AwsSolutions-SQS3",
        "This queue is itself a dead-letter queue: the schedules' (EventBridge Scheduler's "
        "DeadLetterConfig), which cdk-nag cannot see because schedules are made at run time.",
    )
    _ack(
        service.http_api,
        "AwsSolutions-APIG1",
        "Each request is logged by the function that serves it (JSON logs with the execution "
        "id); a stage access log would be a log group the plan does not list.",
    )
    for route in service.plan.http_api.routes:
        if route.authorization == "none":
            _ack(
                service.http_api,
                "AwsSolutions-APIG4",
                "Commands, routes and the OpenAPI document are the service's public API, "
                "authorised by its own middleware; the system API (/_eventual/*) uses IAM.",
            )
            break
    table = f"<{_logical_id(service.table)}.Arn>"
    bucket = f"<{_logical_id(service.bucket)}.Arn>"
    group = service.plan.schedule_group.name
    schedules = f"arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/{group}/*"
    for function_plan in service.plan.functions:
        role = service.function_roles[function_plan.name]
        arns = {arn for statement in function_plan.statements for arn in statement.arns}
        if "${table.arn}/index/*" in arns:
            _ack(role, f"AwsSolutions-IAM5[Resource::{table}/index/*]", INDEX_REASON)
        if "${bucket.arn}/*" in arns:
            _ack(role, f"AwsSolutions-IAM5[Resource::{bucket}/*]", OBJECTS_REASON)
        if any(arn.endswith(f":schedule/{group}/*") for arn in arns):
            _ack(role, f"AwsSolutions-IAM5[Resource::{schedules}]", SCHEDULES_REASON)
        _ack(service.functions[function_plan.name], "AwsSolutions-L1", RUNTIME_REASON)
