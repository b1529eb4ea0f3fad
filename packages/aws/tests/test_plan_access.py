"""Tests that each function's configuration and IAM statements agree (``_plan._access``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventual_aws import FunctionPlan, PlanError, ServicePlan, plan
from eventual_aws._plan._access import ENV, PASSED_TO_SCHEDULER
from eventual_aws._plan._references import find_references

from .conftest import MakePackage

DOCS = Path(__file__).resolve().parents[3] / "docs" / "aws.md"

SERVICE = """
    from eventual import command, event, subscription, task

    placed = event("Placed", str)

    @task
    async def pack() -> None: ...

    @task
    async def ship() -> None: ...

    @subscription(placed)
    async def notify(order_id: str) -> None: ...

    @command(memory=1024)
    async def quote() -> int:
        return 1
"""


@pytest.fixture
def service_plan(make_service: MakePackage) -> ServicePlan:
    """Return the plan of a service with every kind of function."""
    return plan(make_service(SERVICE))


def granted(function: FunctionPlan) -> set[str]:
    return {s.resource for s in function.statements}


def test_every_configured_resource_has_a_statement(service_plan: ServicePlan) -> None:
    """Each resource named in a function's environment is one its role may use."""
    kinds = set()
    for function in service_plan.functions:
        kinds.add(function.kind)
        for name, value in function.environment.items():
            for reference in find_references(value):
                if reference.resource in PASSED_TO_SCHEDULER:
                    # Named in the schedules it creates: needs the schedules and the role.
                    assert {"schedule_group", "role.scheduler"} <= granted(function), name
                else:
                    assert reference.resource in granted(function), (function.name, name)
    assert kinds == {"orchestrator", "task", "timer", "forwarder", "subscription", "api"}


def test_functions_given_the_queue_prefix_may_send_to_every_task_queue(
    service_plan: ServicePlan,
) -> None:
    """A function that derives task queue URLs from the prefix may send to each task queue."""
    task_queues = {q.id for q in service_plan.queues if q.id.startswith("queue.task.")}
    task_queues -= {q for q in task_queues if q.endswith("-dlq")}
    assert task_queues == {"queue.task.pack", "queue.task.ship"}
    givens = [f for f in service_plan.functions if ENV.QUEUE_PREFIX in f.environment]
    # Any commit may dispatch a task attempt, so every function rings task queues.
    assert givens == list(service_plan.functions)
    for function in givens:
        for queue in task_queues:
            actions = {a for s in function.statements if s.resource == queue for a in s.actions}
            assert "sqs:SendMessage" in actions, (function.name, queue)


def test_consumers_may_receive_from_their_queues_only(service_plan: ServicePlan) -> None:
    """A function consumes exactly the queues of its event sources (dead letters aside)."""
    for function in service_plan.functions:
        consumed = {
            s.resource
            for s in function.statements
            if "sqs:ReceiveMessage" in s.actions and not s.resource.endswith("-dlq")
        }
        assert consumed == {source.queue for source in function.event_sources}, function.name


def test_only_the_system_api_reads_dead_letters_and_redrives(service_plan: ServicePlan) -> None:
    """The api function may move subscription dead letters to the table and send them back."""
    for function in service_plan.functions:
        rights = {(s.resource, a) for s in function.statements for a in s.actions}
        sweeps = ("queue.subscription.notify-dlq", "sqs:ReceiveMessage") in rights
        redrives = ("queue.subscription.notify", "sqs:SendMessage") in rights
        assert sweeps == redrives == (function.name == "api"), function.name
        assert not any(r.endswith("-dlq") and r.startswith("queue.task.") for r, _ in rights)


def test_statements_name_actions_and_plan_resources(service_plan: ServicePlan) -> None:
    """No statement uses a wildcard action, and each names a resource of the plan and its ARN."""
    ids = {r.id for r in service_plan.resources()}
    statements = [s for f in service_plan.functions for s in f.statements]
    statements += [s for role in service_plan.roles for s in role.statements]
    for statement in statements:
        assert statement.resource in ids
        assert statement.actions
        assert all("*" not in action for action in statement.actions)
        assert statement.arns
        for arn in statement.arns:
            named = {r.resource for r in find_references(arn)} - {"aws"}
            assert named <= {statement.resource}, (statement, arn)


def test_every_function_writes_its_own_log_group(service_plan: ServicePlan) -> None:
    """Each function may write to its log group and to no other."""
    for function in service_plan.functions:
        logs = [s.resource for s in function.statements if s.resource.startswith("log_group.")]
        assert logs == [function.log_group] == [f"log_group.{function.name}"]
        assert service_plan.resource(function.log_group)


def test_the_configuration_contract_per_kind(service_plan: ServicePlan) -> None:
    """Every function gets the whole runtime configuration; a task's or subscription's its name."""
    runtime = {
        ENV.SERVICE,
        ENV.SERVICE_NAME,
        ENV.BACKEND,
        ENV.EVENT_BUS,
        ENV.TABLE,
        ENV.BUCKET,
        ENV.WORKFLOW_QUEUE_URL,
        ENV.TIMER_QUEUE_URL,
        ENV.QUEUE_PREFIX,
        ENV.EVENT_BUS_NAME,
        ENV.SCHEDULE_GROUP,
        ENV.SCHEDULER_ROLE_ARN,
        ENV.FORWARDER_ARN,
        ENV.FORWARDER_DLQ_ARN,
    }
    expected = {
        "orchestrator": runtime,
        "timer": runtime,
        "forwarder": runtime,
        "api": runtime,
        "api-quote": runtime,
        "task-pack": runtime | {ENV.TASK},
        "task-ship": runtime | {ENV.TASK},
        "subscription-notify": runtime | {ENV.SUBSCRIPTION},
    }
    assert {f.name: set(f.environment) for f in service_plan.functions} == expected
    pack = service_plan.function("task-pack")
    assert pack.environment[ENV.TASK] == "pack"
    assert pack.environment[ENV.BACKEND] == "aws"
    assert pack.environment[ENV.EVENT_BUS] == "eventbridge"
    assert pack.environment[ENV.SERVICE].startswith("shop.m_")
    assert pack.environment[ENV.QUEUE_PREFIX] == "shop"
    assert service_plan.function("subscription-notify").environment[ENV.SUBSCRIPTION] == "notify"


def test_the_scheduler_role_invokes_the_forwarder(service_plan: ServicePlan) -> None:
    """Schedules run as a role that may invoke the forwarder and dead-letter to its queue."""
    [role] = service_plan.roles
    assert role.id == "role.scheduler"
    assert role.service_principal == "scheduler.amazonaws.com"
    assert {(s.resource, s.actions) for s in role.statements} == {
        ("function.forwarder", ("lambda:InvokeFunction",)),
        ("queue.forwarder-dlq", ("sqs:SendMessage",)),
    }


def test_every_variable_is_in_the_documented_contract() -> None:
    """Each configuration variable the plan sets is named in docs/aws.md's contract."""
    documented = DOCS.read_text()
    names = [v for k, v in vars(ENV).items() if k.isupper()]
    assert len(names) == 21
    for name in names:
        assert f"`{name}`" in documented or f"`{name}=" in documented, name


def test_environment_fits_lambdas_4_kb(make_service: MakePackage) -> None:
    """With long names and realistic deployed values, a function's environment stays under 4 KB."""
    long = "t" + "x" * 127  # the longest definition name
    module = make_service(
        f"""
        from eventual import task

        @task(name="{long}")
        async def long_task() -> None: ...
        """
    )
    p = plan(module, prefix="p" * 40)
    region, account = "ap-southeast-2", "123456789012"
    values = {}
    for reference in p.references():
        if reference.attribute == "url":
            values[reference.key] = f"https://sqs.{region}.amazonaws.com/{account}/{'q' * 80}"
        elif reference.attribute == "arn":
            values[reference.key] = f"arn:aws:service:{region}:{account}:{'r' * 140}"
        else:
            values[reference.key] = "n" * 255
    for function in p.resolve(values).functions:
        size = sum(len(k) + len(v) for k, v in function.environment.items())
        assert size < 4096, (function.name, size)


def test_shard_counts_reach_every_function() -> None:
    """Shard counts given to the plan are set on every function alike; a bad one is named."""
    p = plan(
        "orders.service",
        shards={"listing_shards": 4, "inbox_shards": 2, "task_shards": 1, "outbox_shards": 3},
    )
    for function in p.functions:
        assert function.environment[ENV.LISTING_SHARDS] == "4", function.name
        assert function.environment[ENV.INBOX_SHARDS] == "2", function.name
        assert function.environment[ENV.OUTBOX_SHARDS] == "3", function.name
        assert ENV.TASK_SHARDS not in function.environment
    with pytest.raises(PlanError, match="'list_shards'"):
        plan("orders.service", shards={"list_shards": 4})
    with pytest.raises(PlanError, match=r"shards\['task_shards'\] must be an integer of 1 or more"):
        plan("orders.service", shards={"task_shards": 0})
