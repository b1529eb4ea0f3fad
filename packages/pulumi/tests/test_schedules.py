"""``Service`` renders a scheduled workflow's recurring schedule: one mocked program run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from eventual_aws import ServicePlan
from eventual_pulumi import Service

SERVICES = Path(__file__).resolve().parent / "services"
ACCOUNT = "123456789012"
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def rendered(run: Any) -> tuple[Any, ServicePlan]:
    """Render the test service ``digests`` (two scheduled workflows) once, with no bundle."""
    holder: dict[str, Any] = {}

    def program() -> pulumi.Output[Any]:
        service = Service(
            "digests",
            service="digests.service",
            source_dir=SERVICES,
            code=pulumi.AssetArchive({}),
        )
        holder["service"] = service
        return pulumi.Output.all(*(s.arn for s in service.schedules.values()))

    recorder = run(program)
    service: Service = holder["service"]
    assert set(service.schedules) == {s.id for s in service.plan.schedules}
    return recorder, service.plan


def test_each_scheduled_workflow_has_its_recurring_schedule(
    rendered: tuple[Any, ServicePlan],
) -> None:
    """One schedule per scheduled workflow, in the group, with the plan's settings, as planned."""
    recorder, service_plan = rendered
    schedules = {r.inputs["name"]: r for r in recorder.of_type("aws:scheduler/schedule:Schedule")}
    assert set(schedules) == {s.name for s in service_plan.schedules}
    assert {s.expression for s in service_plan.schedules} == {
        "cron(0 9 ? * MON-FRI *)",
        "rate(90 minutes)",
    }
    forwarder = service_plan.function("forwarder").physical_name
    for planned in service_plan.schedules:
        schedule = schedules[planned.name]
        inputs = schedule.inputs
        assert schedule.name == f"digests-{planned.id}"
        assert inputs["groupName"] == service_plan.schedule_group.name
        assert inputs["scheduleExpression"] == planned.expression
        assert inputs["scheduleExpressionTimezone"] == planned.timezone
        assert inputs["flexibleTimeWindow"] == {"mode": "OFF"}
        assert inputs["state"] == "ENABLED"
        target = inputs["target"]
        assert target["arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{forwarder}"
        assert target["roleArn"].startswith(f"arn:aws:iam:{REGION}:{ACCOUNT}:")
        assert json.loads(target["input"]) == json.loads(planned.input)
        assert target["retryPolicy"] == {
            "maximumEventAgeInSeconds": planned.retry.maximum_event_age_s,
            "maximumRetryAttempts": planned.retry.maximum_retry_attempts,
        }
        assert target["deadLetterConfig"]["arn"].endswith(":digests-forwarder-dlq")
