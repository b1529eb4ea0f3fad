"""The component rendered by SST's real platform under Pulumi's mocks, checked against the plan.

One mocked run for the module: the harness (``sst/render.test.ts``, run by the
platform's vitest) creates ``EventualService`` for examples/orders, whose plan
the component gets from ``eventual plan --json``, and a function of the app that
links it; it writes every resource registered and every call to SST's server.

The app of examples/orders-sst is installed once: ``npm install`` brings the real
``sst`` (npm's cache keeps the packages), and ``sst install`` extracts SST's
platform (its components, ``@pulumi/pulumi``, ``@pulumi/aws``, vitest) into
``.sst/platform``. ``sst install`` would download the Pulumi CLI; a stand-in
``pulumi`` that only answers ``version`` with the version this ``sst`` expects,
where SST looks for its own, lets it complete with nothing but npm. The same
platform type-checks the app ``eventual new --template sst`` writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click import Command
from click.testing import CliRunner

from eventual_aws import ServicePlan, plan

ORDERS = Path(__file__).resolve().parents[3] / "examples" / "orders"
EXAMPLE = ORDERS.parent / "orders-sst"
PULUMI_VERSION = "v3.215.0"
"""The Pulumi SDK version the ``sst`` pinned in examples/orders-sst/package.json is built with."""


def _sst_environment(config_home: Path) -> dict[str, str]:
    """Return the environment SST's commands run in here: no Bun download, no telemetry."""
    return {
        **os.environ,
        "XDG_CONFIG_HOME": str(config_home),
        "SST_STAGE": "test",
        "SST_NO_BUN": "1",
        "SST_TELEMETRY_DISABLED": "1",
        "NO_COLOR": "1",
    }


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="module")
def sst_environment() -> Callable[[Path], dict[str, str]]:
    """Return how to make the environment of an SST command, given its config folder."""
    return _sst_environment


def _eventual_command() -> Command:
    """Return the ``eventual`` command; skip where eventual-cli is not installed (isolated)."""
    module = pytest.importorskip(
        "eventual_cli", reason="the app is made with eventual-cli's commands"
    )
    command: Command = module.cli
    return command


CACHE_ENV_VAR = "EVENTUAL_SST_CACHE"
"""Names a folder where the installed app is kept across sessions (nox's tests on 3.11 and 3.13)."""


def _install(app: Path) -> None:
    """Install the app's ``sst`` and SST's platform in ``app``, once per cache key."""
    done = app / ".eventual-installed"
    if done.exists():
        return
    config_home = app / ".config"
    env = _sst_environment(config_home)
    pulumi = config_home / "sst" / "bin" / "pulumi"
    pulumi.parent.mkdir(parents=True, exist_ok=True)
    pulumi.write_text(f"#!/bin/sh\necho {PULUMI_VERSION}\n")
    pulumi.chmod(0o755)
    npm = shutil.which("npm")
    assert npm is not None, "the SST tests need Node.js and npm"
    _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], app, env)
    _run([str(app / "node_modules" / ".bin" / "sst"), "install"], app, env)
    done.write_text(PULUMI_VERSION)


@pytest.fixture(scope="module")
def sst_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return examples/orders-sst installed (or from the cache), with ``eventual sst add`` run."""
    cli = _eventual_command()

    cache = os.environ.get(CACHE_ENV_VAR)
    if cache:
        package = (EXAMPLE / "package.json").read_bytes() + PULUMI_VERSION.encode()
        app = Path(cache) / f"orders-sst-{hashlib.sha256(package).hexdigest()[:16]}"
        app.mkdir(parents=True, exist_ok=True)
    else:
        app = tmp_path_factory.mktemp("orders-sst")
    for name in ("sst.config.ts", "package.json", "tsconfig.json"):
        shutil.copy(EXAMPLE / name, app / name)
    cwd = Path.cwd()
    os.chdir(app)
    try:
        result = CliRunner().invoke(
            cli, ["sst", "add", "--path", str(ORDERS)], prog_name="eventual"
        )
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    # After the component is there: `sst install` builds sst.config.ts, which imports it.
    _install(app)
    return app


HARNESS = Path(__file__).resolve().parent / "sst" / "render.test.ts"
SERVICES = Path(__file__).resolve().parent / "services"


def _scheduled_plan() -> ServicePlan:
    """The plan of the test service ``rounds`` (two scheduled workflows), prefix ``shop-test``."""
    added = str(SERVICES) not in sys.path
    if added:
        sys.path.insert(0, str(SERVICES))
    try:
        return plan("rounds.service", prefix="shop-test")
    finally:
        if added:
            sys.path.remove(str(SERVICES))


ACCOUNT = "123456789012"
REGION = "us-east-1"

Resource = dict[str, Any]


class Rendered:
    """What the mocked run registered, with lookups by type and name."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.resources: list[Resource] = data["resources"]
        self.rpc_calls: list[dict[str, Any]] = data["rpcCalls"]
        self.link: dict[str, Any] = data["link"]
        self.scheduled: list[Resource] = data["scheduled"]

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r["type"] == type_]

    def named(self, type_: str, name: str) -> Resource:
        found = [r for r in self.of_type(type_) if r["name"] == name]
        assert len(found) == 1, f"{type_} {name}: {len(found)} registered"
        return found[0]

    def by_input_name(self, type_: str, name: str) -> Resource:
        found = [r for r in self.of_type(type_) if r["inputs"].get("name") == name]
        assert len(found) == 1, f"{type_} named {name}: {len(found)} registered"
        return found[0]


def _logical(plan_id: str) -> str:
    """The component's Pulumi name for a plan id, under the service's name ``Orders``."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", plan_id) if p]
    return "Orders" + "".join(p[0].upper() + p[1:] for p in parts)


def _harness(platform: Path, env: dict[str, str], *options: str) -> None:
    """Copy the harness into SST's platform and run it with vitest; fail with its output."""
    harness_dir = platform / "eventual-test"
    harness_dir.mkdir(exist_ok=True)
    shutil.copy(HARNESS, harness_dir / HARNESS.name)
    result = subprocess.run(
        [
            str(platform / "node_modules" / ".bin" / "vitest"),
            "run",
            f"eventual-test/{HARNESS.name}",
            *options,
        ],
        cwd=platform,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def rendered(
    sst_app: Path,
    sst_environment: Callable[[Path], dict[str, str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Rendered:
    """Run the harness once in the installed app and return what it recorded."""
    work = tmp_path_factory.mktemp("render")
    bundle = work / "bundle"
    (bundle / "eventual_aws").mkdir(parents=True)
    (bundle / "eventual_aws" / "__init__.py").write_text("")
    out = work / "rendered.json"
    options = {
        "service": "orders.service",
        "path": str(ORDERS),
        "command": [sys.executable, "-m", "eventual_cli"],
        # A small folder: zipping a real bundle for every function costs a minute,
        # and the real one is built by test_eventual_sst_bundle_builds_the_code_folder.
        "bundle": str(bundle),
    }
    scheduled_plan = work / "scheduled-plan.json"
    scheduled_plan.write_text(json.dumps(_scheduled_plan().to_json()))
    scheduled = {
        "service": "rounds.service",
        "path": str(SERVICES),
        "plan": str(scheduled_plan),
        "bundle": str(bundle),
    }
    env = {
        **sst_environment(work),
        "EVENTUAL_SST_APP": str(sst_app),
        "EVENTUAL_SST_OUT": str(out),
        "EVENTUAL_SST_OPTIONS": json.dumps(options),
        "EVENTUAL_SST_SCHEDULED_OPTIONS": json.dumps(scheduled),
    }
    _harness(sst_app / ".sst" / "platform", env)
    return Rendered(json.loads(out.read_text()))


@pytest.fixture(scope="module")
def orders_plan() -> Iterator[ServicePlan]:
    """The plan the component rendered: examples/orders with the app's prefix ``shop-test``."""
    src = str(ORDERS / "src")
    added = src not in sys.path
    if added:
        sys.path.insert(0, src)
    yield plan("orders.service", prefix="shop-test")
    if added:
        sys.path.remove(src)


def _policy(role: Resource) -> list[dict[str, Any]]:
    (inline,) = role["inputs"]["inlinePolicies"]
    statements: list[dict[str, Any]] = json.loads(inline["policy"])["Statement"]
    return statements


def test_every_function_has_the_plans_properties(
    rendered: Rendered, orders_plan: ServicePlan
) -> None:
    """Each plan function is a Lambda function with its name, handler, size and environment."""
    functions = {
        r["inputs"]["name"]: r["inputs"] for r in rendered.of_type("aws:lambda/function:Function")
    }
    for function in orders_plan.functions:
        created = functions[function.physical_name]
        assert created["handler"] == function.handler
        assert created["runtime"] == function.runtime
        assert created["architectures"] == [function.architecture]
        assert created["memorySize"] == function.memory_mb
        assert created["timeout"] == function.timeout_s
        assert created["loggingConfig"]["logGroup"] == orders_plan.resource(function.log_group).name  # type: ignore[union-attr]  # a log group plan has a name
        variables = created["environment"]["variables"]
        for key, value in function.environment.items():
            assert key in variables, f"{function.name} lacks {key}"
            if "${" not in value:
                assert variables[key] == value
            assert "${" not in variables[key], f"{function.name}: {key} left unresolved"
        assert variables["EVENTUAL_AWS_FORWARDER_ARN"] == (
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:shop-test-forwarder"
        )


def test_every_role_holds_exactly_the_plans_statements(
    rendered: Rendered, orders_plan: ServicePlan
) -> None:
    """Each function's role and the scheduler's have the plan's actions on resolved ARNs only."""
    for function in orders_plan.functions:
        role = rendered.named("aws:iam/role:Role", _logical(f"role.{function.name}"))
        assert "lambda.amazonaws.com" in role["inputs"]["assumeRolePolicy"]
        statements = _policy(role)
        assert [s["Action"] for s in statements] == [list(s.actions) for s in function.statements]
        for statement in statements:
            assert all("${" not in arn and arn != "*" for arn in statement["Resource"])
        assert not role["inputs"].get("managedPolicyArns")
    (scheduler_plan,) = orders_plan.roles
    scheduler = rendered.named("aws:iam/role:Role", _logical(scheduler_plan.id))
    assert "scheduler.amazonaws.com" in scheduler["inputs"]["assumeRolePolicy"]
    statements = _policy(scheduler)
    assert [s["Action"] for s in statements] == [list(s.actions) for s in scheduler_plan.statements]
    assert statements[0]["Resource"] == [
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:shop-test-forwarder"
    ]


def test_no_policy_anywhere_grants_a_wildcard_action(rendered: Rendered) -> None:
    """No role or policy the app registered, SST's own included, has a ``*`` in an action."""
    documents = [
        inline["policy"]
        for role in rendered.of_type("aws:iam/role:Role")
        for inline in role["inputs"].get("inlinePolicies", [])
    ]
    documents += [
        p["inputs"]["policy"] for p in rendered.of_type("aws:sqs/queuePolicy:QueuePolicy")
    ]
    assert documents
    for document in documents:
        for statement in json.loads(document)["Statement"]:
            actions = statement.get("Action", statement.get("actions"))
            for action in [actions] if isinstance(actions, str) else actions:
                assert "*" not in action, document


def test_every_queue_has_the_plans_settings(rendered: Rendered, orders_plan: ServicePlan) -> None:
    """Each plan queue exists with its name, type, timeouts, retention and redrive."""
    for queue in orders_plan.queues:
        created = rendered.by_input_name("aws:sqs/queue:Queue", queue.name)["inputs"]
        assert created["fifoQueue"] is queue.fifo
        assert created["visibilityTimeoutSeconds"] == queue.visibility_timeout_s
        assert created["messageRetentionSeconds"] == queue.retention_s
        if queue.redrive is None:
            assert not created.get("redrivePolicy")
        else:
            redrive = json.loads(created["redrivePolicy"])
            dead_letter = orders_plan.queue(queue.redrive.dead_letter_queue)
            assert redrive == {
                "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{dead_letter.name}",
                "maxReceiveCount": queue.redrive.max_receive_count,
            }
        if queue.high_throughput:
            assert created["deduplicationScope"] == "messageGroup"
            assert created["fifoThroughputLimit"] == "perMessageGroupId"


def test_event_sources_report_partial_batch_failures(
    rendered: Rendered, orders_plan: ServicePlan
) -> None:
    """Each plan event source maps its queue to its function, batch size and partial responses."""
    mappings = rendered.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    expected = [(f, s) for f in orders_plan.functions for s in f.event_sources]
    assert len(mappings) == len(expected)
    by_queue = {m["inputs"]["eventSourceArn"]: m["inputs"] for m in mappings}
    for function, source in expected:
        mapping = by_queue[f"arn:aws:sqs:{REGION}:{ACCOUNT}:{orders_plan.queue(source.queue).name}"]
        assert mapping["functionName"].endswith(f":{function.physical_name}")
        assert mapping["batchSize"] == source.batch_size
        assert mapping["functionResponseTypes"] == (
            ["ReportBatchItemFailures"] if source.report_batch_item_failures else []
        )


def test_every_rule_has_the_plans_pattern_and_only_it_may_send(
    rendered: Rendered, orders_plan: ServicePlan
) -> None:
    """Each subscription's rule has the plan's pattern and queue, and only it may send there."""
    for rule in orders_plan.rules:
        created = rendered.by_input_name("aws:cloudwatch/eventRule:EventRule", rule.name)["inputs"]
        assert json.loads(created["eventPattern"]) == rule.pattern
        assert created["eventBusName"] == orders_plan.event_bus.name
        queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{orders_plan.queue(rule.target).name}"
        target = rendered.named(
            "aws:cloudwatch/eventTarget:EventTarget", _logical(rule.id) + "Target"
        )
        assert target["inputs"]["arn"] == queue_arn
        policy = rendered.named("aws:sqs/queuePolicy:QueuePolicy", _logical(rule.target) + "Policy")
        (statement,) = json.loads(policy["inputs"]["policy"])["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Resource"] == queue_arn
        assert statement["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(rule.name)


def test_every_route_exists_and_the_system_api_needs_iam(
    rendered: Rendered, orders_plan: ServicePlan
) -> None:
    """Each plan route is an API route; those the plan marks ``iam`` accept signed requests only."""
    routes = {
        r["inputs"]["routeKey"]: r["inputs"]
        for r in rendered.of_type("aws:apigatewayv2/route:Route")
    }
    assert sorted(routes) == sorted(f"{r.method} {r.path}" for r in orders_plan.http_api.routes)
    for route in orders_plan.http_api.routes:
        expected = "AWS_IAM" if route.authorization == "iam" else "NONE"
        assert routes[f"{route.method} {route.path}"]["authorizationType"] == expected
    api = rendered.of_type("aws:apigatewayv2/api:Api")
    assert [a["inputs"]["name"] for a in api] == [orders_plan.http_api.name]


def test_table_schedule_group_and_log_groups(rendered: Rendered, orders_plan: ServicePlan) -> None:
    """The table has the plan's keys, indexes and TTL; the schedule and log groups their names."""
    (table,) = rendered.of_type("aws:dynamodb/table:Table")
    inputs = table["inputs"]
    assert (inputs["hashKey"], inputs["rangeKey"]) == (
        orders_plan.table.partition_key,
        orders_plan.table.sort_key,
    )
    assert sorted(i["name"] for i in inputs["globalSecondaryIndexes"]) == [
        i.name for i in orders_plan.table.indexes
    ]
    assert inputs["ttl"]["attributeName"] == orders_plan.table.ttl_attribute
    assert inputs["pointInTimeRecovery"]["enabled"] is orders_plan.table.point_in_time_recovery
    assert inputs["billingMode"] == orders_plan.table.billing_mode
    group = rendered.by_input_name(
        "aws:scheduler/scheduleGroup:ScheduleGroup", orders_plan.schedule_group.name
    )
    assert group["name"] == "OrdersScheduleGroup"
    for log_group in orders_plan.log_groups:
        created = rendered.by_input_name("aws:cloudwatch/logGroup:LogGroup", log_group.name)
        assert created["inputs"]["retentionInDays"] == log_group.retention_days


def test_the_nightly_restock_is_a_schedule_in_new_york_time(
    rendered: Rendered, orders_plan: ServicePlan
) -> None:
    """The orders example's scheduled workflow is one schedule at 01:00 in America/New_York."""
    schedules = [r["inputs"] for r in rendered.of_type("aws:scheduler/schedule:Schedule")]
    assert [
        (s["name"], s["scheduleExpression"], s["scheduleExpressionTimezone"]) for s in schedules
    ] == [(s.name, "cron(0 1 * * ? *)", "America/New_York") for s in orders_plan.schedules]
    assert len(schedules) == 1
    assert schedules[0]["groupName"] == orders_plan.schedule_group.name


def test_the_bucket_expires_what_the_plan_lets_go(
    rendered: Rendered, orders_plan: ServicePlan
) -> None:
    """The bucket's lifecycle rules are the plan's expirations: prefix, days, enabled."""
    assert orders_plan.bucket.expirations, "examples/orders plans no expiration to check"
    (bucket,) = rendered.of_type("aws:s3/bucket:Bucket")
    (lifecycle,) = rendered.of_type(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    )
    inputs = lifecycle["inputs"]
    assert inputs["bucket"] == bucket["inputs"]["bucket"]
    assert [
        (rule["id"], rule["status"], rule["filter"]["prefix"], rule["expiration"]["days"])
        for rule in inputs["rules"]
    ] == [(e.id, "Enabled", e.prefix, e.days) for e in orders_plan.bucket.expirations]


def test_functions_are_built_from_the_bundle(rendered: Rendered, orders_plan: ServicePlan) -> None:
    """SST is asked to build every function from the one code folder, with the plan's handler."""
    builds = [c["params"] for c in rendered.rpc_calls if c["method"] == "Runtime.Build"]
    handlers = sorted(b["handler"] for b in builds if b["handler"].startswith("eventual_aws."))
    assert handlers == sorted(f.handler for f in orders_plan.functions)
    assert {b["runtime"] for b in builds} == {"python3.11"}
    bundles = {b["bundle"] for b in builds if b["handler"].startswith("eventual_aws.")}
    assert len(bundles) == 1
    assert Path(bundles.pop()).name == "bundle"


def test_linking_the_service_gives_its_url_and_bus(
    rendered: Rendered, orders_plan: ServicePlan
) -> None:
    """``link: [orders]`` hands the linked function ``Resource.Orders`` and the right to publish."""
    bus_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{orders_plan.event_bus.name}"
    assert rendered.link["properties"] == {
        "url": "https://OrdersApiApi.execute-api.us-east-1.amazonaws.com",
        "busName": orders_plan.event_bus.name,
        "busArn": bus_arn,
    }
    (web,) = [
        c["params"]
        for c in rendered.rpc_calls
        if c["method"] == "Runtime.Build" and c["params"]["handler"] == "web.handler"
    ]
    assert web["links"]["Orders"]["url"] == rendered.link["properties"]["url"]
    web_role = rendered.named("aws:iam/role:Role", "WebRole")
    statements = [
        json.loads(p["policy"])["Statement"] for p in web_role["inputs"]["inlinePolicies"]
    ]
    assert {"events:PutEvents"} <= {
        a for s in statements for st in s for a in st.get("actions", st.get("Action", []))
    }


def test_the_app_type_checks_against_the_installed_platform(sst_app: Path) -> None:
    """``tsc --noEmit`` accepts sst.config.ts and the component against SST's own types."""
    tsc = sst_app / ".sst" / "platform" / "node_modules" / ".bin" / "tsc"
    result = subprocess.run(
        [str(tsc), "--noEmit", "-p", str(sst_app / "tsconfig.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_new_projects_sst_app_type_checks(sst_app: Path, tmp_path: Path) -> None:
    """The app ``eventual new --template sst`` writes passes ``tsc``; a misspelt option fails it.

    The project borrows the installed app's SST platform (``.sst/platform``), the
    folder ``sst install`` would fill from the same pinned ``sst``.
    """
    cli = _eventual_command()

    project = tmp_path / "my-shop"
    result = CliRunner().invoke(
        cli, ["new", "my-shop", "--template", "sst", "--directory", str(project)]
    )
    assert result.exit_code == 0, result.output
    # The same pinned sst as the installed app, so its platform is the one `sst install` gives.
    pinned = json.loads((project / "package.json").read_text())["devDependencies"]
    assert pinned == json.loads((EXAMPLE / "package.json").read_text())["devDependencies"]
    (project / ".sst").mkdir()
    (project / ".sst" / "platform").symlink_to(sst_app / ".sst" / "platform")
    (project / "infra" / "wrong.ts").write_text(
        'import { EventualService } from "./eventual";\n'
        'export const wrong = new EventualService("Wrong", { servic: "x.service", path: "." });\n'
    )
    tsc = sst_app / ".sst" / "platform" / "node_modules" / ".bin" / "tsc"
    checked = subprocess.run(
        [str(tsc), "--noEmit", "-p", "tsconfig.json"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in checked.stdout.splitlines() if ": error TS" in line]
    assert len(errors) == 1, checked.stdout + checked.stderr
    assert errors[0].startswith("infra/wrong.ts(")
    assert "'servic'" in errors[0]


def test_a_new_projects_sst_config_runs(
    sst_app: Path, sst_environment: Callable[[Path], dict[str, str]], tmp_path: Path
) -> None:
    """``run()`` of the sst.config.ts ``eventual new --template sst`` writes creates the plan.

    The harness runs the config as ``sst deploy`` would, in the project's folder:
    the component runs ``eventual plan`` there (the CLI on ``PATH``), and a
    stand-in answers ``eventual sst bundle`` with a small folder, as real bundles
    are checked elsewhere.
    """
    cli = _eventual_command()

    project = tmp_path / "my-shop"
    result = CliRunner().invoke(
        cli, ["new", "my-shop", "--template", "sst", "--directory", str(project)]
    )
    assert result.exit_code == 0, result.output
    bundle = tmp_path / "bundle"
    (bundle / "eventual_aws").mkdir(parents=True)
    (bundle / "eventual_aws" / "__init__.py").write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    eventual = bin_dir / "eventual"
    eventual.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = sst ]; then echo "{bundle}"; exit 0; fi\n'
        f'exec "{sys.executable}" -m eventual_cli "$@"\n'
    )
    eventual.chmod(0o755)
    out = tmp_path / "rendered.json"
    environment = sst_environment(tmp_path)
    env = {
        **environment,
        "PATH": f"{bin_dir}{os.pathsep}{environment.get('PATH', '')}",
        "EVENTUAL_SST_APP": str(project),
        "EVENTUAL_SST_OUT": str(out),
        "EVENTUAL_SST_CONFIG": str(project / "sst.config.ts"),
    }
    _harness(sst_app / ".sst" / "platform", env, "--pool=forks")
    ran = json.loads(out.read_text())

    src = str(project / "src")
    sys.path.insert(0, src)
    try:
        expected = plan("my_shop.service", prefix="my-shop-test")
    finally:
        sys.path.remove(src)
        for module in [m for m in sys.modules if m == "my_shop" or m.startswith("my_shop.")]:
            del sys.modules[module]
    functions = sorted(
        r["inputs"]["name"] for r in ran["resources"] if r["type"] == "aws:lambda/function:Function"
    )
    assert functions == sorted(f.physical_name for f in expected.functions)
    assert ran["outputs"] == {"url": "https://MyShopApiApi.execute-api.us-east-1.amazonaws.com"}
    builds = [c["params"] for c in ran["rpcCalls"] if c["method"] == "Runtime.Build"]
    assert {b["bundle"] for b in builds} == {str(bundle)}


def test_each_scheduled_workflow_has_its_recurring_schedule(rendered: Rendered) -> None:
    """A service of scheduled workflows gets one Scheduler schedule each, as its plan says."""
    planned = _scheduled_plan()
    schedules = {
        r["inputs"]["name"]: r["inputs"]
        for r in rendered.scheduled
        if r["type"] == "aws:scheduler/schedule:Schedule"
    }
    assert set(schedules) == {s.name for s in planned.schedules} != set()
    forwarder = planned.function("forwarder").physical_name
    for schedule in planned.schedules:
        inputs = schedules[schedule.name]
        assert inputs["groupName"] == planned.schedule_group.name
        assert inputs["scheduleExpression"] == schedule.expression
        assert inputs["scheduleExpressionTimezone"] == schedule.timezone
        assert inputs["flexibleTimeWindow"] == {"mode": "OFF"}
        assert inputs["state"] == "ENABLED"
        target = inputs["target"]
        assert target["arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{forwarder}"
        # The scheduler role, named by the mocks after its Pulumi name.
        assert target["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/ReportsRoleScheduler-physical"
        assert target["input"] == schedule.input
        assert target["retryPolicy"] == {
            "maximumEventAgeInSeconds": schedule.retry.maximum_event_age_s,
            "maximumRetryAttempts": schedule.retry.maximum_retry_attempts,
        }
        dead_letter = planned.queue(schedule.dead_letter_queue).name
        assert target["deadLetterConfig"]["arn"].endswith(f":{dead_letter}")
