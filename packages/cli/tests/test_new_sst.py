"""``eventual new --template sst``: the project's tests pass and its SST app is wired.

The project is generated once for the module. Its ``sst.config.ts`` is checked
here for what it creates and where the component comes from; SST's type checker
runs over it in eventual-sst's tests, which install SST's platform
(``test_render.py``, ``test_a_new_projects_sst_app_type_checks``).
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from eventual_cli import cli
from eventual_cli._new import NEXT_STEPS

from .new_projects import assert_own_tests_pass, generate

# The CLI depends neither on eventual-sst nor on the test plugin the project's tests use.
eventual_sst = pytest.importorskip("eventual_sst")
pytest.importorskip("eventual_testing")

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "orders-sst"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a project generated from the sst template, named my-shop."""
    return generate("sst", tmp_path_factory.mktemp("sst") / "my-shop")


def test_the_generated_tests_pass(project: Path) -> None:
    """Running pytest in the new project runs its two tests of the service, and they pass."""
    assert_own_tests_pass(project)


def test_the_config_creates_the_service_with_the_installed_component(project: Path) -> None:
    """sst.config.ts makes the service as ``eventual sst add`` says to, from infra/eventual.ts."""
    config = (project / "sst.config.ts").read_text()
    assert config.startswith('/// <reference path="./.sst/platform/config.d.ts" />\n')
    assert 'name: "my-shop",' in config
    imports, creates = eventual_sst.config_lines(name="MyShop", service="my_shop.service", path=".")
    assert imports in config
    assert creates.split(" = ", 1)[1] in config
    assert "return { url: service.url };" in config
    component = project / eventual_sst.COMPONENT_FILE
    assert component.read_text() == eventual_sst.component_source()


def test_the_app_pins_the_sst_the_component_is_tested_with(project: Path) -> None:
    """package.json, tsconfig.json and the deploy extra match what eventual-sst is proven on."""
    package = json.loads((project / "package.json").read_text())
    assert package["name"] == "my-shop"
    if EXAMPLE.is_dir():  # in a checkout: the version test_render.py installs
        example = json.loads((EXAMPLE / "package.json").read_text())
        assert package["devDependencies"] == example["devDependencies"]
        assert (project / "tsconfig.json").read_text() == (EXAMPLE / "tsconfig.json").read_text()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    deploy = pyproject["project"]["optional-dependencies"]["deploy"]
    assert deploy == ["eventual-sst", "eventual-aws[bundle]", "eventual-cli"]
    ignored = (project / ".gitignore").read_text().splitlines()
    assert {"node_modules/", ".sst/"} <= set(ignored)


def test_the_readme_says_how_to_deploy(project: Path) -> None:
    """The README gives the three commands in order, npm install first and sst deploy last."""
    readme = (project / "README.md").read_text()
    steps = [readme.index(step) for step in NEXT_STEPS["sst"]]
    assert steps == sorted(steps)
    assert NEXT_STEPS["sst"][0].endswith("npm install")
    assert NEXT_STEPS["sst"][-1] == "npx sst deploy"


def test_without_eventual_sst_the_template_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where eventual-sst is missing, nothing is written and the error names the package."""
    monkeypatch.setitem(sys.modules, "eventual_sst", None)  # import fails as if not installed
    target = tmp_path / "shop"
    result = CliRunner().invoke(
        cli, ["new", "shop", "--template", "sst", "--directory", str(target)]
    )
    assert result.exit_code == 1
    assert "pip install eventual-sst" in result.output
    assert not target.exists()
