"""Tests for the plan's JSON form, its golden file and its placeholders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from eventual import ValidationError
from eventual_aws import PLAN_VERSION, PlanError, Reference, ServicePlan, plan

GOLDEN_PLAN = Path(__file__).parent / "golden" / "orders_plan.json"
UPDATE_GOLDEN_ENV_VAR = "EVENTUAL_UPDATE_GOLDEN"


def plan_json(p: ServicePlan) -> str:
    return json.dumps(p.to_json(), indent=2) + "\n"


def test_plan_matches_golden_file() -> None:
    """The orders example's plan is the committed golden file, byte for byte."""
    text = plan_json(plan("orders.service"))
    if os.environ.get(UPDATE_GOLDEN_ENV_VAR) == "1":
        GOLDEN_PLAN.parent.mkdir(exist_ok=True)
        GOLDEN_PLAN.write_text(text)
    assert text == GOLDEN_PLAN.read_text(), (
        f"plan changed; if intended, rerun with {UPDATE_GOLDEN_ENV_VAR}=1 and review the diff"
    )


def test_json_is_versioned_and_round_trips() -> None:
    """to_json carries the version and is plain JSON; from_json gives the same plan back."""
    p = plan("orders.service")
    data = p.to_json()
    assert data["version"] == PLAN_VERSION
    assert json.loads(json.dumps(data)) == data
    assert ServicePlan.from_json(json.loads(json.dumps(data))) == p


def test_another_version_or_shape_is_refused() -> None:
    """Data of another format version, or missing a field, is refused with a clear error."""
    data = plan("orders.service").to_json()
    with pytest.raises(PlanError, match="plan format version 99 is not supported"):
        ServicePlan.from_json({**data, "version": 99})
    broken = dict(data)
    del broken["functions"]
    with pytest.raises(ValidationError, match="functions"):
        ServicePlan.from_json(broken)


def test_references_name_resources_of_the_plan() -> None:
    """Every placeholder names a resource the plan lists and an attribute it has."""
    p = plan("orders.service")
    references = p.references()
    assert Reference(resource="queue.workflow", attribute="url") in references
    assert Reference(resource="table", attribute="name") in references
    ids = {r.id for r in p.resources()}
    assert {r.resource for r in references} <= ids | {"aws"}
    p.check()


def test_resolve_fills_every_placeholder() -> None:
    """resolve() replaces each placeholder with its value and refuses a plan left incomplete."""
    p = plan("orders.service")
    values = {r.key: f"<{r.key}>" for r in p.references()}
    resolved = p.resolve(values)
    assert resolved.references() == []
    orchestrator = resolved.function("orchestrator")
    assert orchestrator.environment["EVENTUAL_AWS_WORKFLOW_QUEUE_URL"] == "<queue.workflow.url>"
    statement = next(s for s in orchestrator.statements if s.resource == "schedule_group")
    assert statement.arns == (
        "arn:<aws.partition>:scheduler:<aws.region>:<aws.account>:schedule/orders/*",
    )
    del values["table.name"]
    with pytest.raises(PlanError, match=r"no value for table\.name"):
        p.resolve(values)


def test_placeholder_syntax() -> None:
    """A reference prints as ${<plan id>.<attribute>}, the id keeping its own dots."""
    reference = Reference(resource="queue.task.reserve_stock", attribute="arn")
    assert reference.placeholder == "${queue.task.reserve_stock.arn}"
    assert reference.key == "queue.task.reserve_stock.arn"
