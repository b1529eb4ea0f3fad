"""The Lambda code folder the component hands SST, from eventual-aws's bundler."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from eventual_aws import Bundle, BundleError, ServicePlan, plan
from eventual_sst import _bundle

if TYPE_CHECKING:
    from click.testing import Result

ORDERS = Path(__file__).resolve().parents[3] / "examples" / "orders"


@pytest.fixture
def orders_plan(monkeypatch: pytest.MonkeyPatch) -> ServicePlan:
    """The plan of examples/orders."""
    monkeypatch.syspath_prepend(str(ORDERS / "src"))
    return plan("orders.service")


def test_the_folder_is_built_for_the_plans_runtime_and_architecture(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, orders_plan: ServicePlan
) -> None:
    """The bundler is asked for the Python and architecture every plan function runs on."""
    calls: list[dict[str, Any]] = []

    def build(**kwargs: Any) -> Bundle:
        calls.append(kwargs)
        return Bundle(path=tmp_path, distributions=(), python_version="3.11", architecture="arm64")

    monkeypatch.setattr(_bundle, "build_bundle", build)
    assert _bundle.bundle_folder(orders_plan, ORDERS / "src") == tmp_path.resolve()
    assert calls == [
        {
            "source_dir": ORDERS / "src",
            "python_version": "3.11",
            "architecture": "arm64",
            "options": None,
        }
    ]


def test_functions_on_two_architectures_are_refused(orders_plan: ServicePlan) -> None:
    """One folder serves one platform: a plan mixing architectures fails, naming them."""
    first, *rest = orders_plan.functions
    mixed = attrs.evolve(orders_plan, functions=(attrs.evolve(first, architecture="x86_64"), *rest))
    with pytest.raises(BundleError, match="x86_64"):
        _bundle.bundle_folder(mixed, ORDERS / "src")


def test_default_source_dir_is_src_when_there() -> None:
    """A src layout imports from src; a flat project from its own folder."""
    assert _bundle.default_source_dir(ORDERS) == ORDERS / "src"
    assert _bundle.default_source_dir(ORDERS / "src") == ORDERS / "src"


def test_eventual_sst_bundle_builds_the_code_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``eventual sst bundle``, which the component runs, prints a folder holding the code."""
    click_testing = pytest.importorskip("click.testing")
    eventual_cli = pytest.importorskip("eventual_cli")
    monkeypatch.chdir(ORDERS)
    monkeypatch.setenv("EVENTUAL_BUNDLE_CACHE", str(tmp_path / "bundles"))
    result: Result = click_testing.CliRunner().invoke(
        eventual_cli.cli, ["sst", "bundle", "--prefix", "shop-test"], prog_name="eventual"
    )
    assert result.exit_code == 0, result.output
    folder = Path(result.output.strip())
    assert folder.is_relative_to(tmp_path / "bundles")
    assert (folder / "eventual_aws" / "handlers" / "orchestrator.py").is_file()
    assert (folder / "orders" / "service.py").is_file()
    assert not (folder / "click").exists()


def test_the_components_commands_plan_with_the_projects_shard_counts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``eventual plan --json`` and ``eventual sst bundle``, run by the component, use its shards.

    Both read ``aws_*_shards`` from the project's ``[tool.eventual]``: every function of
    the plan the component renders gets them, and the bundle is built for that plan.
    """
    from eventual_sst import _cli  # imports click, which the CLI provides

    click_testing = pytest.importorskip("click.testing")
    eventual_cli = pytest.importorskip("eventual_cli")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.eventual]\nservice = "orders.service"\naws_timer_shards = 2\naws_outbox_shards = 4\n'
    )
    monkeypatch.syspath_prepend(str(ORDERS / "src"))
    monkeypatch.chdir(tmp_path)
    bundled: list[ServicePlan] = []

    def bundle_folder(service_plan: ServicePlan, source: Path, *, options: object) -> Path:
        bundled.append(service_plan)
        return tmp_path

    monkeypatch.setattr(_cli, "bundle_folder", bundle_folder)
    runner = click_testing.CliRunner()
    options = ["--service", "orders.service", "--prefix", "shop-test"]
    printed: Result = runner.invoke(
        eventual_cli.cli, ["plan", "--json", *options], prog_name="eventual"
    )
    assert printed.exit_code == 0, printed.output
    rendered = ServicePlan.from_json(json.loads(printed.output))
    assert {f.environment["EVENTUAL_AWS_TIMER_SHARDS"] for f in rendered.functions} == {"2"}
    assert {f.environment["EVENTUAL_AWS_OUTBOX_SHARDS"] for f in rendered.functions} == {"4"}
    result: Result = runner.invoke(
        eventual_cli.cli, ["sst", "bundle", *options], prog_name="eventual"
    )
    assert result.exit_code == 0, result.output
    assert [p.to_json() for p in bundled] == [rendered.to_json()]
