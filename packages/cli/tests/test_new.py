"""``eventual new``: a generated project passes its own tests, lint and type check.

The local template is generated once for the module; its tests run in a
subprocess of this environment's Python (where eventual-testing's pytest plugin
gives the ``eventual_env`` fixture), as a user's ``pytest`` would run them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath

import pytest
from click.testing import CliRunner, Result

from eventual_cli import cli
from eventual_cli._new import NEXT_STEPS, TEMPLATES, NewProject, project_files

from .new_projects import assert_own_tests_pass


def _new(*args: str) -> Result:
    return CliRunner().invoke(cli, ["new", *args], prog_name="eventual")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def local_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a project generated from the local template, named my-shop."""
    target = tmp_path_factory.mktemp("new") / "my-shop"
    result = _new("my-shop", "--directory", str(target))
    assert result.exit_code == 0, result.output
    return target


def test_the_generated_tests_pass_on_the_eventual_env_fixture(local_project: Path) -> None:
    """Running pytest in the new project runs its two tests of the service, and they pass."""
    pytest.importorskip("eventual_testing")  # the project's dev extra; not a CLI dependency
    assert_own_tests_pass(local_project)


def test_the_generated_code_is_linted_and_typed(local_project: Path) -> None:
    """The linter (ruff check, ruff format) and mypy --strict find nothing in the new project."""
    pytest.importorskip("eventual_testing")  # the tests' types come from it
    for args in (
        ["ruff", "check", "--no-cache", "."],
        ["ruff", "format", "--check", "--no-cache", "."],
        ["mypy", "--cache-dir", os.devnull],
    ):
        result = _run([sys.executable, "-m", *args], local_project)
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"


def test_the_project_names_its_service_and_says_what_to_run_next(local_project: Path) -> None:
    """[tool.eventual] names the package's service and the README gives the next three commands."""
    pyproject = tomllib.loads((local_project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "my-shop"
    assert pyproject["tool"]["eventual"]["service"] == "my_shop.service"
    assert (local_project / "src" / "my_shop" / "service.py").is_file()
    assert (local_project / ".gitignore").is_file()
    readme = (local_project / "README.md").read_text()
    steps = [readme.index(step) for step in NEXT_STEPS["local"]]
    assert steps == sorted(steps)
    assert "{{" not in "".join(project_files(NewProject(name="my-shop")).values())


def test_the_command_prints_the_next_steps(tmp_path: Path) -> None:
    """The output ends with cd into the folder and the template's three commands."""
    result = _new("shop", "--directory", str(tmp_path / "shop"))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-4:] == [
        f"  cd {tmp_path / 'shop'}",
        *(f"  {step}" for step in NEXT_STEPS["local"]),
    ]


def test_a_non_empty_folder_is_refused_unless_forced(tmp_path: Path) -> None:
    """A folder with a file is left alone; --force writes the project and keeps that file."""
    (tmp_path / "notes.txt").write_text("mine")
    refused = _new("shop", "--directory", str(tmp_path))
    assert refused.exit_code == 1
    assert "is not empty" in refused.output
    assert "--force" in refused.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]

    forced = _new("shop", "--directory", str(tmp_path), "--force")
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "src" / "shop" / "service.py").is_file()


def test_the_folder_defaults_to_the_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --directory the project goes into ./NAME."""
    monkeypatch.chdir(tmp_path)
    result = _new("shop")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "shop" / "pyproject.toml").is_file()


@pytest.mark.parametrize("name", ["1shop", "my shop", "class", "../up"])
def test_a_name_that_makes_no_package_is_refused(tmp_path: Path, name: str) -> None:
    """A name that cannot be a Python package is a usage error that writes nothing."""
    result = _new(name, "--directory", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "NAME" in result.output
    assert not (tmp_path / "out").exists()


def test_an_unknown_template_is_refused(tmp_path: Path) -> None:
    """--template offers only the templates there are."""
    result = _new("shop", "--template", "nope", "--directory", str(tmp_path / "shop"))
    assert result.exit_code == 2
    assert all(name in result.output for name in TEMPLATES)


WORKSPACE = Path(__file__).resolve().parents[3] / "packages"


@pytest.mark.parametrize("template", TEMPLATES)
def test_each_template_requires_distributions_of_this_workspace(template: str) -> None:
    """Every eventual requirement of a template is a distribution here, with extras it has."""
    if not WORKSPACE.is_dir():
        pytest.skip("needs the repository's packages/")
    if template == "sst":
        pytest.importorskip("eventual_sst")  # the template holds its component
    extras_of: dict[str, set[str]] = {}
    for pyproject in WORKSPACE.glob("*/pyproject.toml"):
        project = tomllib.loads(pyproject.read_text())["project"]
        extras_of[project["name"]] = set(project.get("optional-dependencies", {}))
    written = project_files(NewProject(name="shop", template=template))
    project = tomllib.loads(written[PurePosixPath("pyproject.toml")])["project"]
    requirements = [*project["dependencies"]]
    for group in project["optional-dependencies"].values():
        requirements += group
    eventual = [r for r in requirements if r.startswith("eventual")]
    assert eventual
    for requirement in eventual:
        name, _, extras = requirement.partition("[")
        assert name in extras_of, f"{template}: {requirement!r} is not a workspace distribution"
        assert set(filter(None, extras.rstrip("]").split(","))) <= extras_of[name], requirement
