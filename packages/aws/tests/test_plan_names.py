"""Tests for the plan's physical names: AWS's limits, shortening and clashes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventual_aws import PlanError, plan
from eventual_aws._plan._names import queue_name, shorten

from .conftest import MakePackage

LONG = "t" + "x" * 99  # a 100-character task name


def test_a_100_character_task_name_fits_every_limit(make_service: MakePackage) -> None:
    """A task named with 100 characters gets queue and function names within AWS's limits."""
    module = make_service(
        f"""
        from eventual import event, subscription, task

        placed = event("Placed", str)

        @task(name="{LONG}")
        async def long_task() -> None: ...

        @subscription(placed, name="{LONG}")
        async def long_subscription(order_id: str) -> None: ...
        """
    )
    p = plan(module, prefix="a" * 40)
    for queue in p.queues:
        assert len(queue.name) <= 80, queue.name
        assert queue.name.endswith(".fifo") == queue.fifo
    for function in p.functions:
        assert len(function.physical_name) <= 64, function.physical_name
    for rule in p.rules:
        assert len(rule.name) <= 64, rule.name
    assert len(p.schedule_group.name) <= 64
    task_function = p.function(f"task-{LONG}")
    assert LONG in task_function.name  # the plan's name keeps the whole task name
    assert task_function.environment["EVENTUAL_AWS_TASK"] == LONG
    assert plan(module, prefix="a" * 40) == p  # shortening is deterministic


def test_shortening_keeps_the_head_and_adds_a_hash() -> None:
    """A long name keeps its head and ends in 8 hex digits of its hash; a short one is kept."""
    assert shorten("short", 64) == "short"
    long_name = "orders-task-" + "y" * 100
    shortened = shorten(long_name, 64)
    assert len(shortened) == 64
    assert shortened.startswith("orders-task-yyy")
    assert shortened != shorten(long_name + "z", 64)
    fifo = queue_name("orders", "w" * 100, fifo=True)
    assert len(fifo) == 80
    assert fifo.endswith(".fifo")


@given(
    names=st.lists(st.from_regex(r"[A-Za-z0-9_-]{1,150}", fullmatch=True), min_size=2, max_size=2),
    fifo=st.booleans(),
)
def test_queue_names_fit_and_stay_distinct(names: list[str], fifo: bool) -> None:
    """Any two suffixes give queue names within 80 characters, the same each time, distinct."""
    first, second = (queue_name("p" * 40, name, fifo=fifo) for name in names)
    assert len(first) <= 80
    assert first.endswith(".fifo") == fifo
    assert first == queue_name("p" * 40, names[0], fifo=fifo)
    assert (first == second) == (names[0] == names[1])


def test_the_runtime_derives_a_task_queue_name_as_the_plan_does() -> None:
    """queue_name(prefix, 'task-<task>') is the name the plan gives the task's queue."""
    p = plan("orders.service", prefix="prod-orders")
    assert p.queue("queue.task.reserve_stock").name == queue_name(
        "prod-orders", "task-reserve_stock"
    )


def test_names_that_collide_on_aws_are_refused(make_service: MakePackage) -> None:
    """Two tasks whose names become one AWS name are refused, naming both."""
    module = make_service(
        """
        from eventual import task

        @task(name="pack.gift")
        async def a() -> None: ...

        @task(name="pack-gift")
        async def b() -> None: ...
        """
    )
    with pytest.raises(PlanError, match=r"task 'pack-gift'.*and task 'pack.gift'.*rename one"):
        plan(module)


@pytest.mark.parametrize("prefix", ["", "has space", "-leading", "x" * 41, "dots.not.allowed"])
def test_a_prefix_that_cannot_start_aws_names_is_refused(prefix: str) -> None:
    """A prefix that is empty, too long or holds other characters is refused with the rule."""
    with pytest.raises(PlanError, match="cannot prefix AWS resource names"):
        plan("orders.service", prefix=prefix)


def test_a_service_name_that_cannot_be_a_prefix_asks_for_one(make_service: MakePackage) -> None:
    """A service whose name cannot prefix AWS names is refused until a prefix is given."""
    from eventual import Service

    module = make_service("from eventual import task\n\n@task\nasync def t() -> None: ...\n")
    service = Service.load(module, name="shop.v2")
    with pytest.raises(PlanError, match=r"the service name 'shop\.v2'.*pass prefix="):
        plan(service)
    assert plan(service, prefix="shop-v2").prefix == "shop-v2"
