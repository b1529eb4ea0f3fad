"""Tests for planning a service: functions, queues, rules and routes (``eventual_aws._plan``)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from eventual import Service, command, task
from eventual_aws import FunctionPlan, PlanError, ServicePlan, plan

from .conftest import MakePackage

ORDERS_SRC = Path(__file__).resolve().parents[3] / "examples" / "orders" / "src"
KINDS = {"orchestrator", "task", "timer", "forwarder", "subscription", "api"}

SIZED = """
    from datetime import timedelta
    from eventual import RetryPolicy, api, command, event, subscription, task
    from eventual import HttpRequest, HttpResponse

    placed = event("Placed", str)

    @task(timeout=timedelta(minutes=2), memory=2048, concurrency=4)
    async def pack(item: str) -> None: ...

    @task
    async def untimed(item: str) -> None: ...

    @subscription(placed, timeout=90, memory=1024, concurrency=1,
                  retry=RetryPolicy(max_attempts=4))
    async def notify(order_id: str) -> None: ...

    @command(path="/quotes/{item}", method="GET", timeout=20, memory=1769)
    async def quote(item: str) -> int:
        return 1

    @command
    async def place(item: str) -> str:
        return item

    @api.post("/hooks")
    async def hook(request: HttpRequest) -> HttpResponse:
        return HttpResponse()
"""


def by_name(p: ServicePlan) -> dict[str, FunctionPlan]:
    return {f.name: f for f in p.functions}


def test_orders_gets_one_function_per_handler() -> None:
    """Orders plans the service functions, the api, one per task and subscription, a schedule."""
    p = plan("orders.service")
    functions = by_name(p)
    assert list(functions) == [
        "orchestrator",
        "timer",
        "forwarder",
        "api",
        "task-reserve_stock",
        "task-restock",
        "task-eventual.schedule.run_status",
        "task-eventual.schedule.start_run",
        "subscription-audit",
    ]
    for f in p.functions:
        assert f.kind in KINDS
        assert f.handler == f"eventual_aws.handlers.{f.kind}.handler"
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in f.environment.items())
    assert "reserve_stock" in functions["task-reserve_stock"].name
    assert functions["task-reserve_stock"].kind == "task"
    assert "audit" in functions["subscription-audit"].name
    # The nightly restock is a recurring Scheduler schedule in New York time.
    assert [(s.workflow, s.expression, s.timezone) for s in p.schedules] == [
        ("nightly_restock", "cron(0 1 * * ? *)", "America/New_York")
    ]


def test_a_service_is_given_as_a_path_a_module_or_a_service() -> None:
    """plan() takes a module path, a module or a loaded Service, with the same result."""
    module = importlib.import_module("orders.service")
    assert plan(module) == plan("orders.service") == plan(Service.load("orders.service"))


def test_options_of_definitions_land_in_their_functions(make_service: MakePackage) -> None:
    """memory=, concurrency= and timeout= size the functions of tasks, subscriptions, commands."""
    functions = by_name(plan(make_service(SIZED)))
    pack = functions["task-pack"]
    assert (pack.memory_mb, pack.timeout_s, pack.reserved_concurrency) == (2048, 130, 4)
    assert pack.event_sources[0].maximum_concurrency == 4
    assert functions["task-untimed"].timeout_s == 900
    notify = functions["subscription-notify"]
    assert (notify.memory_mb, notify.timeout_s, notify.reserved_concurrency) == (1024, 90, 1)
    # Lambda's event source scales to two at the least.
    assert notify.event_sources[0].maximum_concurrency == 2
    quote = functions["api-quote"]
    assert (quote.kind, quote.memory_mb, quote.timeout_s) == ("api", 1769, 20)
    assert "api-place" not in functions


def test_a_command_with_its_own_function_gets_its_routes(make_service: MakePackage) -> None:
    """A command setting memory or timeout is served by its own function, on RPC and REST."""
    p = plan(make_service(SIZED))
    routes = {r.key: r for r in p.http_api.routes}
    assert routes["POST /_rpc/quote"].function == "api-quote"
    assert routes["GET /quotes/{item}"].function == "api-quote"
    assert routes["POST /_rpc/place"].function == "api"
    assert routes["POST /hooks"].function == "api"
    assert routes["ANY /_eventual/{proxy+}"].authorization == "iam"
    assert routes["GET /_eventual/openapi.json"].authorization == "none"
    assert {r.authorization for r in p.http_api.routes if not r.path.startswith("/_eventual")} == {
        "none"
    }
    assert [r.key for r in p.http_api.routes] == sorted(
        (r.key for r in p.http_api.routes), key=lambda k: (k.split(" ")[1], k.split(" ")[0])
    )


def test_queues_are_sized_from_their_consumers(make_service: MakePackage) -> None:
    """A doorbell's visibility is six times its consumer's timeout; each has a dead-letter queue."""
    p = plan(make_service(SIZED))
    consumers = {s.queue: f for f in p.functions for s in f.event_sources}
    doorbells = [q for q in p.queues if q.redrive is not None]
    assert {q.id for q in doorbells} == set(consumers)
    for queue in doorbells:
        assert queue.visibility_timeout_s >= 6 * consumers[queue.id].timeout_s
        assert queue.redrive is not None
        dead_letters = p.queue(queue.redrive.dead_letter_queue)
        assert dead_letters.fifo == queue.fifo
        assert dead_letters.retention_s > queue.retention_s
    workflow = p.queue("queue.workflow")
    assert workflow.fifo
    assert workflow.name.endswith(".fifo")
    assert workflow.high_throughput
    assert p.queue("queue.subscription.notify").redrive.max_receive_count == 4  # type: ignore[union-attr]


def test_batching_follows_each_kind() -> None:
    """Tasks take one message per invocation, the others ten; all report partial failures."""
    for f in plan("orders.service").functions:
        for source in f.event_sources:
            assert source.report_batch_item_failures
            assert source.batching_window_s == 0
            assert source.batch_size == (1 if f.kind == "task" else 10)


def test_a_subscription_has_a_rule_to_its_queue() -> None:
    """Each subscription's rule carries its pattern and targets its queue, which lets it send."""
    p = plan("orders.service")
    [rule] = p.rules
    assert (rule.id, rule.subscription, rule.bus) == ("rule.audit", "audit", "bus")
    assert rule.pattern == {"detail-type": ["OrderPlaced"]}
    assert rule.target == "queue.subscription.audit"
    assert p.queue(rule.target).senders == (rule.id,)


def test_split_step_remainders_expire_after_every_doorbell_that_could_apply_them() -> None:
    """Only ``steps/`` expires, and later than any queue keeps the doorbell that applies it."""
    p = plan("orders.service")
    [rule] = p.bucket.expirations
    assert (rule.id, rule.prefix) == ("steps", "steps/")
    queued = max(q.retention_s for q in p.queues if q.redrive is not None)
    dead = max(q.retention_s for q in p.queues if q.redrive is None)
    assert rule.days * 24 * 3600 > queued + dead


def test_an_existing_event_bus_is_named_not_created() -> None:
    """event_bus= marks the bus as existing, under that name; by default the service has its own."""
    assert plan("orders.service").event_bus.existing is False
    bus = plan("orders.service", event_bus="shared-events").event_bus
    assert (bus.name, bus.existing) == ("shared-events", True)
    with pytest.raises(PlanError, match="not an EventBridge bus name"):
        plan("orders.service", event_bus="no spaces")


def test_a_task_longer_than_lambda_allows_is_refused(make_service: MakePackage) -> None:
    """A task whose timeout plus margin passes Lambda's 900 s is refused, naming the task."""
    module = make_service(
        """
        from eventual import task

        @task(timeout=891)
        async def crunch() -> None: ...
        """
    )
    with pytest.raises(PlanError, match=r"task 'crunch' \(shop\.m_\w+:crunch\) has timeout=891 s"):
        plan(module)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("@task(memory=64)\nasync def tiny() -> None: ...", r"task 'tiny'.*memory=64 MB"),
        (
            "@command(timeout=31)\nasync def slow() -> None: ...",
            r"command 'slow'.*timeout=31 s; API Gateway answers within 30 s",
        ),
    ],
)
def test_options_aws_cannot_honour_are_refused(
    make_service: MakePackage, source: str, message: str
) -> None:
    """A memory size Lambda does not offer or a command slower than API Gateway waits is refused."""
    module = make_service("from eventual import command, task\n\n" + source)
    with pytest.raises(PlanError, match=message):
        plan(module)


def test_a_service_without_a_module_is_refused() -> None:
    """A service built from definitions cannot be planned: the handlers load it by module."""

    @task
    async def t() -> None: ...

    @command
    async def c() -> None: ...

    with pytest.raises(PlanError, match="built from definitions"):
        plan(Service.from_definitions("adhoc", [t, c]))


def test_planning_imports_no_aws_sdk() -> None:
    """Importing eventual_aws and planning a service imports neither boto3 nor botocore."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import eventual_aws; "
        "eventual_aws.plan('orders.service'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'click')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ORDERS_SRC)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"


def test_a_path_api_gateway_refuses_is_refused(make_service: MakePackage) -> None:
    """A route whose path API Gateway would not accept is refused, naming the route."""
    module = make_service(
        """
        from eventual import HttpRequest, HttpResponse, api

        @api.get("/price list/{item}")
        async def prices(request: HttpRequest) -> HttpResponse:
            return HttpResponse()
        """
    )
    with pytest.raises(PlanError, match=r"route 'GET /price list/\{item\}'.*segment 'price list'"):
        plan(module)
