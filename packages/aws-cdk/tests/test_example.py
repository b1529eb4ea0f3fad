"""examples/orders-cdk synthesizes as ``cdk synth`` runs it: ``python3 app.py``, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from eventual_aws import plan

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "orders-cdk"


def test_the_example_app_synthesizes_the_orders_service(tmp_path: Path, bundle_cache: Path) -> None:
    """Running app.py the way cdk.json says writes every orders function and the schedule."""
    command = json.loads((EXAMPLE / "cdk.json").read_text())["app"]
    assert command == "python3 app.py"
    env = {
        **os.environ,
        "CDK_OUTDIR": str(tmp_path),  # what the cdk command sets
        "UV_OFFLINE": "1",  # bundle from uv's cache: tests reach no index
        "EVENTUAL_BUNDLE_CACHE": str(bundle_cache),
    }
    subprocess.run(
        [sys.executable, "app.py"], cwd=EXAMPLE, env=env, check=True, capture_output=True
    )
    template = json.loads((tmp_path / "OrdersService.template.json").read_text())
    functions = {
        r["Properties"]["FunctionName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    }
    assert functions == {f.physical_name for f in plan("orders.service").functions}
    schedules = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Scheduler::Schedule"
    ]
    assert [(s["ScheduleExpression"], s["ScheduleExpressionTimezone"]) for s in schedules] == [
        ("cron(0 1 * * ? *)", "America/New_York")
    ]
    assert set(template["Outputs"]) == {"ApiUrl", "EventBusName"}
