"""``eventual new --template pulumi``: the project's tests pass and its program renders offline.

The project is generated once for the module. Its Pulumi program runs as
``pulumi up`` would run ``__main__.py``, but under Pulumi's mocks (no Pulumi
CLI, no AWS), its Lambda code bundled from uv's cache without reaching an index.
"""

from __future__ import annotations

import runpy
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from eventual_cli._new import NEXT_STEPS

from .new_projects import assert_linted, assert_own_tests_pass, generate

if TYPE_CHECKING:
    from eventual_pulumi.testing import Recorder

# The CLI depends neither on the renderer nor on the test plugin the project's tests use.
eventual_aws = pytest.importorskip("eventual_aws")
pytest.importorskip("eventual_pulumi")
pytest.importorskip("eventual_testing")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a project generated from the pulumi template, named my-shop."""
    return generate("pulumi", tmp_path_factory.mktemp("pulumi") / "my-shop")


@pytest.fixture(scope="module")
def recorder(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Recorder:
    """Run the project's program once under mocks, on stack ``test``; return what it created."""
    from eventual_pulumi.testing import run_program  # the skips above make sure it is there

    name = tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVENTUAL_BUNDLE_CACHE", str(tmp_path_factory.mktemp("bundles")))
        patch.setenv("UV_OFFLINE", "1")  # bundle from uv's cache: tests reach no index
        return run_program(
            lambda: runpy.run_path(str(project / "__main__.py"), run_name="__main__"),
            project=name,
            stack="test",
        )


def test_the_generated_tests_pass(project: Path) -> None:
    """Running pytest in the new project runs its two tests of the service, and they pass."""
    assert_own_tests_pass(project)


def test_the_program_creates_exactly_the_plans_functions_and_routes(
    project: Path, recorder: Recorder
) -> None:
    """Under mocks the program creates each function and route of the plan for its stack."""
    src = str(project / "src")
    sys.path.insert(0, src)
    try:
        expected = eventual_aws.plan("my_shop.service", prefix="my-shop-test")
    finally:
        sys.path.remove(src)
    functions = [r.inputs["name"] for r in recorder.of_type("aws:lambda/function:Function")]
    assert sorted(functions) == sorted(f.physical_name for f in expected.functions)
    assert any("send_welcome" in name for name in functions)
    assert any("tally" in name for name in functions)
    routes = {r.inputs["routeKey"] for r in recorder.of_type("aws:apigatewayv2/route:Route")}
    assert routes == {r.key for r in expected.http_api.routes}
    assert "POST /_rpc/sign_up" in routes


def test_the_pulumi_project_is_linted_and_says_how_to_deploy(project: Path) -> None:
    """Ruff finds nothing; Pulumi.yaml runs Python; the README's last step is pulumi up."""
    assert_linted(project)
    settings = (project / "Pulumi.yaml").read_text()
    assert settings.startswith("name: my-shop\n")
    assert "  name: python\n" in settings
    assert "-e .[deploy]" in (project / "requirements.txt").read_text().splitlines()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["optional-dependencies"]["deploy"] == ["eventual-pulumi"]
    readme = (project / "README.md").read_text()
    steps = [readme.index(step) for step in NEXT_STEPS["pulumi"]]
    assert steps == sorted(steps)
    assert NEXT_STEPS["pulumi"][-1] == "pulumi up"
