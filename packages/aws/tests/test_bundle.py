"""``build_bundle``: one Lambda archive from a plan and the service's folder, without Docker."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from eventual_aws import Bundle, BundleError, build_bundle, plan
from eventual_aws._bundle._build import source_files
from eventual_aws._bundle._requirements import service_requirements

ORDERS = Path(__file__).resolve().parents[3] / "examples" / "orders" / "src" / "orders"


@pytest.fixture(scope="module")
def service_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the orders service needing a native wheel and a developer tool."""
    root = tmp_path_factory.mktemp("service")
    shutil.copytree(ORDERS, root / "orders", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "requirements.txt").write_text("# what the service imports\nmarkupsafe>=2\nclick\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_orders.py").write_text("")
    return root


@pytest.fixture(scope="module")
def built(service_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """Build the service's archive once for the module."""
    return build_bundle(
        plan("orders.service"), service_dir, cache_dir=tmp_path_factory.mktemp("cache")
    )


def test_the_archive_holds_the_service_and_the_runtime(built: Bundle) -> None:
    """The archive has the service's code at its root and eventual-aws with its dependencies."""
    names = set(zipfile.ZipFile(built.path).namelist())
    assert {"orders/__init__.py", "orders/service.py", "eventual_aws/__init__.py"} <= names
    assert {"eventual-aws", "eventual-core", "eventual-engine", "eventual-messaging"} <= set(
        built.distributions
    )
    assert not any(n.startswith("tests/") or "__pycache__" in n for n in names)


def test_wheels_are_for_lambdas_platform(built: Bundle) -> None:
    """A native dependency is installed from its manylinux wheel for the plan's arm64."""
    names = zipfile.ZipFile(built.path).namelist()
    native = [n for n in names if n.startswith("markupsafe/") and n.endswith(".so")]
    assert native
    assert all("aarch64" in n for n in native)
    assert built.architecture == "arm64"
    assert built.runtime == "python3.11"


def test_deploy_and_developer_tools_are_left_out(built: Bundle) -> None:
    """The click distribution stays out even when the service lists it; so do pulumi and the CLI."""
    names = zipfile.ZipFile(built.path).namelist()
    for tool in ("click", "pulumi", "aws-cdk-lib", "uvicorn", "eventual-cli"):
        assert tool not in built.distributions
    assert not any(n.startswith(("click/", "pulumi/", "uvicorn/", "eventual_cli/")) for n in names)


def test_an_unchanged_service_reuses_its_archive(built: Bundle, service_dir: Path) -> None:
    """Building again with nothing changed returns the same archive, byte for byte."""
    again = build_bundle(plan("orders.service"), service_dir, cache_dir=built.path.parent)
    assert (again.path, again.sha256) == (built.path, built.sha256)


def test_entries_are_sorted_with_a_fixed_time(built: Bundle) -> None:
    """The zip is reproducible: sorted entries, all dated 1980-01-01."""
    infos = zipfile.ZipFile(built.path).infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_a_folder_without_the_service_is_refused(tmp_path: Path) -> None:
    """A source_dir the service module does not import from fails, saying what was looked for."""
    with pytest.raises(BundleError, match=r"neither orders/ nor orders\.py"):
        build_bundle(plan("orders.service"), tmp_path, cache_dir=tmp_path / "cache")


def test_pyproject_dependencies_are_read_without_excluded_ones(tmp_path: Path) -> None:
    """The service's pyproject dependencies are installed, minus deploy and developer tools."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "shop"\ndependencies = ["httpx>=0.27", "eventual-cli", "Pulumi"]\n'
    )
    (tmp_path / "requirements.txt").write_text("ignored\n")
    assert service_requirements(tmp_path) == ["httpx>=0.27"]


def test_requirement_options_are_refused(tmp_path: Path) -> None:
    """A requirements.txt option the bundle cannot follow fails, naming its line."""
    (tmp_path / "requirements.txt").write_text("httpx\n-e ../lib\n")
    with pytest.raises(BundleError, match=r"requirements.txt:2: '-e \.\./lib'"):
        service_requirements(tmp_path)


def test_source_files_leave_out_hidden_tests_and_caches(tmp_path: Path) -> None:
    """Hidden folders, tests, caches and project files are not part of the service's code."""
    for name in ("app/__init__.py", "app/data.json", ".venv/x.py", "tests/t.py", "a.pyc"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "pyproject.toml").write_text("")
    assert [p.as_posix() for p in source_files(tmp_path)] == ["app/__init__.py", "app/data.json"]
