"""Tests for service discovery, lookups and the manifest (``eventual._service``)."""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from eventual import Event, api, command, event, subscription, task
from eventual._definition import Definition
from eventual._errors import EventualError
from eventual._service import (
    DefinitionNotFound,
    DuplicateDefinition,
    Service,
    ServiceLoadError,
)

GOLDEN_MANIFEST = Path(__file__).parent / "golden" / "orders_manifest.json"
UPDATE_GOLDEN_ENV_VAR = "EVENTUAL_UPDATE_GOLDEN"

MakePackage = Callable[[dict[str, str]], str]


@pytest.fixture
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakePackage]:
    """Yield a function writing a uniquely named package from ``{relative path: source}``.

    The package's modules are removed from ``sys.modules`` after the test.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def make(files: dict[str, str]) -> str:
        package = f"svc_{uuid.uuid4().hex[:12]}"
        names.append(package)
        for relative, source in {"__init__.py": "", **files}.items():
            path = tmp_path / package / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        return package

    yield make
    for module in list(sys.modules):
        if any(module == name or module.startswith(name + ".") for name in names):
            del sys.modules[module]


def resolve(import_path: str) -> object:
    """Return the object a ``module:attribute`` import path names."""
    module, _, attribute = import_path.partition(":")
    return getattr(importlib.import_module(module), attribute)


TASK_MODULE = """
    from eventual import task

    @task
    async def reserve_stock(item: str) -> bool:
        return True
"""


def test_orders_example_finds_every_definition() -> None:
    """Loading the orders example finds each definition of DESIGN.md section 3, once."""
    service = Service.load("orders.service")
    orders = importlib.import_module("orders.service")

    assert service.name == "orders"
    assert service.module == "orders.service"
    assert dict(service.workflows) == {
        "fulfil": orders.fulfil,
        "nightly_restock": orders.nightly_restock,
    }
    assert dict(service.tasks) == {
        "reserve_stock": orders.reserve_stock,
        "restock": orders.restock,
    }
    assert dict(service.signals) == {"approval": orders.approval}
    assert dict(service.events) == {"OrderPlaced": orders.order_placed}
    assert dict(service.subscriptions) == {"audit": orders.audit}
    assert dict(service.commands) == {"place_order": orders.place_order}
    assert dict(service.routes) == {"GET /orders/{order_id}": orders.get_order}
    assert service.middleware == ()


def test_orders_example_signal_and_event_sources() -> None:
    """Discovery sets a signal's and an event's source to ``module:attribute``."""
    service = Service.load("orders.service")

    assert service.signal("approval").source == "orders.service:approval"
    assert service.event("OrderPlaced").source == "orders.service:order_placed"


async def test_orders_example_tasks_really_work() -> None:
    """The example's task and subscription bodies run: stock goes down, audits are kept."""
    orders = importlib.import_module("orders.service")
    orders.STOCK["test-item"] = 2

    assert await orders.reserve_stock("test-item", 2) is True
    assert await orders.reserve_stock("test-item", 1) is False
    assert orders.STOCK["test-item"] == 0
    await orders.audit(orders.OrderPlaced("o-audit"))
    assert orders.AUDIT_LOG[-1] == "o-audit"


def test_load_accepts_a_module_and_a_name() -> None:
    """``load`` takes a module object as well as a path, and ``name=`` overrides the name."""
    module = importlib.import_module("orders.service")

    service = Service.load(module, name="shop")

    assert service.name == "shop"
    assert service.module == "orders.service"
    assert list(service.tasks) == ["reserve_stock", "restock"]


def test_package_walk_finds_submodules_and_skips_tests(make_package: MakePackage) -> None:
    """A package's submodules, nested and private ones too, are found; tests and __main__ not."""
    broken = "raise RuntimeError('must not be imported')\n"
    package = make_package(
        {
            "tasks.py": TASK_MODULE,
            "flows/__init__.py": "",
            "flows/main.py": """
                from eventual import workflow

                @workflow
                async def fulfil(order_id: str) -> str:
                    return order_id
            """,
            "_signals.py": "from eventual import signal\napproval = signal('approval', bool)\n",
            "__main__.py": broken,
            "conftest.py": broken,
            "test_things.py": broken,
            "things_test.py": broken,
            "tests/__init__.py": broken,
            "tests/test_more.py": broken,
        }
    )

    service = Service.load(package)

    assert service.name == package
    assert list(service.tasks) == ["reserve_stock"]
    assert list(service.workflows) == ["fulfil"]
    assert list(service.signals) == ["approval"]
    assert service.signal("approval").source == f"{package}._signals:approval"


def test_reexports_count_once_at_their_definer(make_package: MakePackage) -> None:
    """A definition re-exported by other modules counts once and keeps its defining module."""
    package = make_package(
        {
            "__init__.py": """
                from .z_events import placed
                from .tasks import reserve_stock
            """,
            "z_events.py": "from eventual import event\nplaced = event('Placed', int)\n",
            "tasks.py": TASK_MODULE,
            "a_uses.py": """
                from .z_events import placed as same_event
                from .tasks import reserve_stock
            """,
        }
    )

    service = Service.load(package)
    manifest = json.loads(service.manifest_json())

    assert len(service.tasks) == 1
    assert len(service.events) == 1
    assert service.event("Placed").source == f"{package}.z_events:placed"
    assert [t["import_path"] for t in manifest["tasks"]] == [f"{package}.tasks:reserve_stock"]
    assert [e["import_path"] for e in manifest["events"]] == [f"{package}.z_events:placed"]


def test_duplicate_names_name_both_places(make_package: MakePackage) -> None:
    """Two distinct tasks with one name fail, naming both ``module:attribute`` places."""
    package = make_package({"a.py": TASK_MODULE, "b.py": TASK_MODULE})

    with pytest.raises(DuplicateDefinition) as caught:
        Service.load(package)

    assert str(caught.value).startswith(
        f"{package}.a:reserve_stock and {package}.b:reserve_stock "
        "both define task 'reserve_stock'; rename one"
    )


def test_duplicate_routes_are_found_by_method_and_path(make_package: MakePackage) -> None:
    """Two routes serving the same method and path shape clash, whatever their parameter names."""
    package = make_package(
        {
            "api.py": """
                from eventual import HttpRequest, HttpResponse, api

                @api.get("/orders/{order_id}")
                async def show(request: HttpRequest) -> HttpResponse:
                    return HttpResponse()

                @api.get("/orders/{id}/")
                async def show_again(request: HttpRequest) -> HttpResponse:
                    return HttpResponse()

                @api.post("/orders/{id}")
                async def change(request: HttpRequest) -> HttpResponse:
                    return HttpResponse()
            """
        }
    )

    with pytest.raises(DuplicateDefinition, match=r"both serve GET /orders/\{id\}/") as caught:
        Service.load(package)

    assert f"{package}.api:show (route 'GET /orders/{{order_id}}')" in str(caught.value)
    assert f"{package}.api:show_again (route 'GET /orders/{{id}}/')" in str(caught.value)


def test_command_rest_path_clashing_with_a_route_fails(make_package: MakePackage) -> None:
    """A command whose REST method and path are a route's fails, naming both."""
    package = make_package(
        {
            "api.py": """
                from eventual import HttpRequest, HttpResponse, api, command

                @api.put("/orders/{order_id}")
                async def replace(request: HttpRequest) -> HttpResponse:
                    return HttpResponse()

                @command(path="/orders/{order_id}", method="PUT")
                async def update(order_id: str) -> str:
                    return order_id
            """
        }
    )

    with pytest.raises(DuplicateDefinition) as caught:
        Service.load(package)

    assert str(caught.value) == (
        f"{package}.api:replace (route 'PUT /orders/{{order_id}}') and {package}.api:update "
        "(command 'update' REST route) both serve PUT /orders/{order_id}; "
        "change the method or path of one of them"
    )


def test_missing_module_error_names_module_and_cause() -> None:
    """Loading a module that does not exist names it, the cause and what to check."""
    with pytest.raises(ServiceLoadError) as caught:
        Service.load("no_such_package_for_eventual.service")

    message = str(caught.value)
    assert message.startswith(
        "cannot import service module 'no_such_package_for_eventual.service': "
        "ModuleNotFoundError: No module named 'no_such_package_for_eventual'; "
        "check the dotted module path"
    )
    assert isinstance(caught.value, ImportError)
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_failing_submodule_error_names_that_module(make_package: MakePackage) -> None:
    """A submodule that raises on import fails the load, naming that submodule and its error."""
    package = make_package({"tasks.py": TASK_MODULE, "broken.py": "1 / 0\n"})

    with pytest.raises(ServiceLoadError) as caught:
        Service.load(package)

    assert str(caught.value).startswith(
        f"cannot import service module '{package}.broken': "
        "ZeroDivisionError: division by zero; fix the error in that module"
    )
    assert caught.value.name == f"{package}.broken"
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def test_module_without_definitions_is_an_empty_service(make_package: MakePackage) -> None:
    """A module that defines nothing loads as a service with no definitions."""
    package = make_package({"empty.py": "VALUE = 1\n"})

    service = Service.load(f"{package}.empty")

    assert service.name == package
    parts = [service.workflows, service.tasks, service.signals, service.events]
    parts += [service.subscriptions, service.commands, service.routes]
    assert not any(parts)
    assert service.middleware == ()


def test_lookups_return_definitions_or_list_known_names() -> None:
    """Lookups return the definition; an unknown name's error lists the known ones."""
    service = Service.load("orders.service")
    orders = importlib.import_module("orders.service")

    assert service.workflow("fulfil") is orders.fulfil
    assert service.task("reserve_stock") is orders.reserve_stock
    assert service.signal("approval") is orders.approval
    assert service.event("OrderPlaced") is orders.order_placed
    assert service.subscription("audit") is orders.audit
    assert service.command("place_order") is orders.place_order
    with pytest.raises(DefinitionNotFound) as caught:
        service.workflow("ship")
    assert str(caught.value) == (
        "no workflow named 'ship' in service 'orders'; known: fulfil, nightly_restock"
    )
    assert isinstance(caught.value, LookupError)
    assert isinstance(caught.value, EventualError)
    with pytest.raises(DefinitionNotFound, match=r"no command named 'x' .*; known: place_order$"):
        service.command("x")


def test_mappings_are_read_only() -> None:
    """The name-to-definition mappings cannot be changed through the service."""
    service = Service.load("orders.service")
    tasks: Any = service.tasks

    with pytest.raises(TypeError):
        tasks["other"] = tasks["reserve_stock"]


def test_middleware_in_module_order_then_line_order(make_package: MakePackage) -> None:
    """Middleware come in module import order, then in the order of their lines."""
    middleware_module = """
        from eventual import api

        @api.middleware
        async def {first}(request, next):
            return await next(request)

        @api.middleware
        async def {second}(request, next):
            return await next(request)
    """
    package = make_package(
        {
            "a_first.py": middleware_module.format(first="zeta", second="alpha"),
            "b_second.py": middleware_module.format(first="omega", second="beta"),
            "__init__.py": "from .b_second import beta\nfrom .a_first import alpha\n",
        }
    )

    service = Service.load(package)
    manifest = json.loads(service.manifest_json())

    assert [m.name for m in service.middleware] == ["zeta", "alpha", "omega", "beta"]
    assert [m["name"] for m in manifest["middleware"]] == ["zeta", "alpha", "omega", "beta"]


def test_events_only_subscribed_to_belong_to_the_service(make_package: MakePackage) -> None:
    """An event defined outside the service but received by its subscription is included."""
    shared = make_package(
        {"events.py": "from eventual import event\nshipped = event('Shipped', str)\n"}
    )
    package = make_package(
        {
            "handlers.py": f"""
                import eventual
                import {shared}.events

                @eventual.subscription({shared}.events.shipped)
                async def on_shipped(order_id: str) -> None:
                    pass
            """
        }
    )
    Service.load(shared)  # the owner's discovery records where the event lives

    service = Service.load(package)
    manifest = json.loads(service.manifest_json())

    assert list(service.events) == ["Shipped"]
    assert manifest["events"][0]["import_path"] == f"{shared}.events:shipped"
    assert manifest["subscriptions"][0]["events"] == ["Shipped"]


def test_from_definitions_builds_a_service() -> None:
    """``from_definitions`` collects objects, adds received events and keeps checks."""
    placed: Event[int] = event("Placed", int)

    @task
    async def reserve(item: str) -> bool:
        return True

    @subscription(placed)
    async def on_placed(order_id: int) -> None:
        pass

    service = Service.from_definitions("test", [reserve, on_placed, reserve])

    assert service.module is None
    assert service.task("reserve") is reserve
    assert service.event("Placed") is placed
    manifest = json.loads(service.manifest_json())
    assert manifest["tasks"][0]["import_path"] is None  # a function local to this test
    with pytest.raises(DuplicateDefinition, match="both define event 'Placed'"):
        Service.from_definitions("test", [placed, event("Placed", str)])
    with pytest.raises(TypeError, match="is not a definition"):
        Service.from_definitions("test", [reserve.fn])  # type: ignore[list-item]


def test_http_endpoints_clash_across_routes_and_commands() -> None:
    """Routes, command REST routes and command RPC paths may not serve the same request."""

    @api.get("/health")
    async def health(request: Any) -> Any:
        return None

    @command(path="/things", method="GET")
    async def list_things(prefix: str) -> list[str]:
        return [prefix]

    @command(name="list_things_again", path="/things/", method="get")
    async def list_things_again(prefix: str) -> list[str]:
        return [prefix]

    @api.post("/_rpc/list_things")
    async def shadow(request: Any) -> Any:
        return None

    service = Service.from_definitions("test", [health, list_things])
    assert list(service.routes) == ["GET /health"]
    assert list(service.commands) == ["list_things"]
    with pytest.raises(DuplicateDefinition, match="both define route 'GET /health'"):
        Service.from_definitions("test", [health, api.get("/health")(health.fn)])
    with pytest.raises(DuplicateDefinition, match="both serve GET /things/"):
        Service.from_definitions("test", [list_things, list_things_again])
    with pytest.raises(DuplicateDefinition, match="both serve POST /_rpc/list_things"):
        Service.from_definitions("test", [list_things, shadow])


def test_manifest_matches_golden_file() -> None:
    """The orders example's manifest is the committed golden file, byte for byte."""
    text = Service.load("orders.service").manifest_json()

    if os.environ.get(UPDATE_GOLDEN_ENV_VAR) == "1":
        GOLDEN_MANIFEST.parent.mkdir(exist_ok=True)
        GOLDEN_MANIFEST.write_text(text)
    assert text == GOLDEN_MANIFEST.read_text(), (
        f"manifest changed; if intended, rerun with {UPDATE_GOLDEN_ENV_VAR}=1 and review the diff"
    )


def test_manifest_import_paths_give_the_definitions_back() -> None:
    """Every import path in the manifest resolves, through importlib, to the same object."""
    service = Service.load("orders.service")
    manifest = json.loads(service.manifest_json())
    by_section: dict[str, Mapping[str, Definition]] = {
        "workflows": service.workflows,
        "tasks": service.tasks,
        "signals": service.signals,
        "events": service.events,
        "subscriptions": service.subscriptions,
        "commands": service.commands,
        "routes": service.routes,
    }

    checked = 0
    for section, definitions in by_section.items():
        for entry in manifest[section]:
            assert resolve(entry["import_path"]) is definitions[entry["name"]]
            checked += 1
    for entry, middleware in zip(manifest["middleware"], service.middleware, strict=True):
        assert resolve(entry["import_path"]) is middleware
    assert checked == 9


def test_manifest_describes_options(make_package: MakePackage) -> None:
    """The manifest carries timeouts in seconds, retry fields, RPC and REST paths, sorted."""
    package = make_package(
        {
            "service.py": """
                from datetime import timedelta
                from eventual import RetryPolicy, command, task, workflow

                @task(timeout=90, heartbeat_timeout=timedelta(seconds=5),
                      retry=RetryPolicy(max_attempts=4, non_retryable=[ValueError]))
                def zeta(x: int) -> int:
                    return x

                @task
                async def alpha(x: int) -> int:
                    return x

                @workflow
                async def flow(x: int) -> int:
                    return x

                @command(path="/things/{thing_id}", method="patch")
                async def change(thing_id: str) -> str:
                    return thing_id
            """
        }
    )

    manifest = json.loads(Service.load(f"{package}.service").manifest_json())

    assert manifest["manifest_version"] == 1
    assert manifest["service"] == {"name": package, "module": f"{package}.service"}
    assert [t["name"] for t in manifest["tasks"]] == ["alpha", "zeta"]
    assert manifest["tasks"][0]["retry"] is None
    assert manifest["tasks"][1] == {
        "kind": "task",
        "name": "zeta",
        "import_path": f"{package}.service:zeta",
        "timeout_seconds": 90.0,
        "heartbeat_timeout_seconds": 5.0,
        "retry": {
            "max_attempts": 4,
            "initial_interval_seconds": 1.0,
            "backoff": 2.0,
            "max_interval_seconds": 300.0,
            "non_retryable": ["ValueError"],
        },
        "memory_mb": None,
        "concurrency": None,
    }
    assert manifest["workflows"][0]["timeout_seconds"] is None
    assert manifest["commands"][0]["rpc"] == {
        "method": "POST",
        "path": "/_rpc/change",
        "path_params": [],
    }
    assert manifest["commands"][0]["rest"] == {
        "method": "PATCH",
        "path": "/things/{thing_id}",
        "path_params": ["thing_id"],
    }


def test_replace_puts_stand_ins_in_place_of_namesakes() -> None:
    """``replace`` swaps definitions by kind and name and keeps the rest and the manifest."""
    placed: Event[int] = event("Placed", int)

    @task
    async def reserve(item: str) -> bool:
        return True

    @task(name="reserve")
    async def stand_in(item: str) -> bool:
        return False

    @task(name="unknown")
    async def stranger(item: str) -> bool:
        return False

    service = Service.from_definitions("test", [reserve, placed])
    replaced = service.replace([stand_in])

    assert replaced.task("reserve") is stand_in
    assert service.task("reserve") is reserve  # the original is untouched
    assert replaced.event("Placed") is placed
    assert replaced.name == service.name
    assert replaced.module == service.module
    assert replaced.manifest() == service.manifest()
    with pytest.raises(DefinitionNotFound, match="cannot replace task 'unknown'"):
        service.replace([stranger])


def test_manifest_carries_deployment_options() -> None:
    """Memory, concurrency and timeouts of tasks, subscriptions and commands reach the manifest."""
    placed = event("Placed", str)

    @task(timeout=20, memory=1024, concurrency=3)
    async def pack(item: str) -> None:
        del item

    @subscription(placed, timeout=timedelta(minutes=2), memory=256, concurrency=4)
    async def notify(order_id: str) -> None:
        del order_id

    @command(timeout=10, memory=2048)
    async def quote() -> int:
        return 1

    @command
    async def plain() -> int:
        return 2

    manifest = json.loads(
        Service.from_definitions("shop", [pack, notify, quote, plain]).manifest_json()
    )
    [task_entry] = manifest["tasks"]
    [subscription_entry] = manifest["subscriptions"]
    commands = {c["name"]: c for c in manifest["commands"]}
    assert (task_entry["memory_mb"], task_entry["concurrency"]) == (1024, 3)
    assert subscription_entry["timeout_seconds"] == 120.0
    assert (subscription_entry["memory_mb"], subscription_entry["concurrency"]) == (256, 4)
    assert (commands["quote"]["timeout_seconds"], commands["quote"]["memory_mb"]) == (10.0, 2048)
    assert (commands["plain"]["timeout_seconds"], commands["plain"]["memory_mb"]) == (None, None)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: task(memory=0), "task 'f' memory must be a positive integer, got 0"),
        (lambda: task(concurrency=True), "task 'f' concurrency must be a positive integer"),
        (lambda: command(timeout=-1), "command 'f' timeout must be a positive timedelta"),
        (lambda: command(memory=1.5), "command 'f' memory must be a positive integer"),  # type: ignore[call-overload]
        (
            lambda: subscription(event("E", str), concurrency=0),
            "subscription 'f' concurrency must be a positive integer",
        ),
    ],
)
def test_deployment_options_are_checked_where_written(
    make: Callable[[], Callable[[Callable[..., Any]], object]], message: str
) -> None:
    """A deployment option that is not a positive number fails at the decorator, naming it."""

    async def f(x: str) -> None:
        del x

    with pytest.raises(ValueError, match=re.escape(message)):
        make()(f)
