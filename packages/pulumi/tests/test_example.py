"""examples/orders-pulumi runs under Pulumi's mocks and creates what its plan lists."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

from eventual_aws import plan

PROGRAM = Path(__file__).resolve().parents[3] / "examples" / "orders-pulumi" / "__main__.py"


@pytest.fixture(scope="module")
def recorder(bundle_dir: Path, run: Any) -> Any:
    """Run the example's program once, its archive built into the session's cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVENTUAL_BUNDLE_CACHE", str(bundle_dir))
        return run(lambda: runpy.run_path(str(PROGRAM), run_name="__main__") and None)


def test_the_example_creates_every_function_queue_rule_route_and_schedule(recorder: Any) -> None:
    """The program creates each function, queue, rule, route and schedule of its stack's plan."""
    expected = plan("orders.service", prefix="orders-test")
    functions = {r.inputs["name"] for r in recorder.of_type("aws:lambda/function:Function")}
    assert functions == {f.physical_name for f in expected.functions}
    queues = {r.inputs["name"] for r in recorder.of_type("aws:sqs/queue:Queue")}
    assert queues == {q.name for q in expected.queues}
    rules = {r.inputs["name"] for r in recorder.of_type("aws:cloudwatch/eventRule:EventRule")}
    assert rules == {r.name for r in expected.rules}
    routes = {r.inputs["routeKey"] for r in recorder.of_type("aws:apigatewayv2/route:Route")}
    assert routes == {r.key for r in expected.http_api.routes}
    schedules = recorder.of_type("aws:scheduler/schedule:Schedule")
    assert {s.inputs["name"] for s in schedules} == {s.name for s in expected.schedules}
    assert [
        (s.inputs["scheduleExpression"], s.inputs["scheduleExpressionTimezone"]) for s in schedules
    ] == [("cron(0 1 * * ? *)", "America/New_York")]


def test_the_example_gives_its_task_more_memory(recorder: Any) -> None:
    """The example's override sizes reserve_stock's function at 1024 MB."""
    (task,) = [
        r
        for r in recorder.of_type("aws:lambda/function:Function")
        if r.inputs["name"] == "orders-test-task-reserve_stock"
    ]
    assert task.inputs["memorySize"] == 1024
    assert Path(task.inputs["code"].path, "orders", "service.py").is_file()
