"""Every task of the workspace: ``nox -s tests lint typecheck isolated demo bench``.

Packages are discovered from ``packages/*/pyproject.toml``, so a new distribution is
picked up by every session without editing this file.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).parent
nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True


def _pyproject(path: Path) -> dict[str, object]:
    with path.open("rb") as f:
        return tomllib.load(f)


def _packages() -> dict[str, Path]:
    """Map each workspace distribution's name to its folder."""
    found: dict[str, Path] = {}
    for pyproject in sorted(ROOT.glob("packages/*/pyproject.toml")):
        project = _pyproject(pyproject)["project"]
        assert isinstance(project, dict)
        found[str(project["name"])] = pyproject.parent
    return found


PACKAGES = _packages()
EXAMPLES = sorted(p.parent for p in ROOT.glob("examples/*/pyproject.toml"))


def _workspace_deps(name: str, seen: set[str] | None = None) -> list[str]:
    """Return ``name`` and the workspace distributions it needs, dependencies first."""
    seen = set() if seen is None else seen
    if name in seen:
        return []
    seen.add(name)
    project = _pyproject(PACKAGES[name] / "pyproject.toml")["project"]
    assert isinstance(project, dict)
    order: list[str] = []
    for requirement in project.get("dependencies", []):
        dep = re.split(r"[\s\[<>=!~;]", str(requirement), maxsplit=1)[0]
        if dep in PACKAGES:
            order += _workspace_deps(dep, seen)
    return [*order, name]


def _test_requirements() -> list[str]:
    groups = _pyproject(ROOT / "pyproject.toml")["dependency-groups"]
    assert isinstance(groups, dict)
    return [str(r) for r in groups["dev"]]


def _install_all(session: nox.Session) -> None:
    session.install(*_test_requirements())
    for path in [*PACKAGES.values(), *EXAMPLES]:
        session.install("-e", str(path))


@nox.session(python=["3.11", "3.13"])
def tests(session: nox.Session) -> None:
    """Run the whole test suite (every package and example)."""
    _install_all(session)
    # One SST install (npm packages and SST's platform) serves both Pythons' runs.
    env = {"PYTHONDONTWRITEBYTECODE": "1", "EVENTUAL_SST_CACHE": str(ROOT / ".nox" / "sst")}
    session.run("pytest", *session.posargs, env=env)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """Type-check sources and tests with mypy --strict."""
    _install_all(session)
    targets = [str(p / "src") for p in PACKAGES.values()]
    targets += [str(p / "tests") for p in PACKAGES.values() if (p / "tests").exists()]
    targets += [str(p / "src") for p in EXAMPLES]
    session.run("mypy", *targets)


@nox.session(python="3.11")
@nox.parametrize("package", list(PACKAGES))
def isolated(session: nox.Session, package: str) -> None:
    """Install one distribution (and only what it depends on) and run its own tests."""
    session.install(*_test_requirements())
    for name in _workspace_deps(package):
        # Built, not editable: the installed wheel must carry everything it needs.
        session.install(str(PACKAGES[name]))
    tests_dir = PACKAGES[package] / "tests"
    session.chdir(str(ROOT))
    session.run(
        "pytest",
        str(tests_dir),
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env={"EVENTUAL_ISOLATED": package, "PYTHONDONTWRITEBYTECODE": "1"},
    )


@nox.session(venv_backend="uv|virtualenv")
def demo(session: nox.Session) -> None:
    """Run the example orders service locally: the README's Quick start (Ctrl-C stops it)."""
    for name in _workspace_deps("eventual-cli"):
        session.install("-e", str(PACKAGES[name]))
    orders = ROOT / "examples" / "orders"
    session.install("-e", str(orders))
    session.chdir(str(orders))
    # Five seconds instead of five minutes between approval and shipping, so that
    # the walk-through's result arrives while you watch.
    session.run("eventual", "local", *session.posargs, env={"ORDERS_SHIPPING_DELAY": "5"})


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Run the benchmarks against their peers and print the ratios."""
    _install_all(session)
    session.install("-r", str(ROOT / "benchmarks" / "requirements.txt"))
    session.run("python", str(ROOT / "benchmarks" / "run.py"), *session.posargs)
