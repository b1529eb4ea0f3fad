"""What every template of ``eventual new`` is held to: it generates, its tests pass, it lints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from eventual_cli import cli


def generate(template: str, target: Path) -> Path:
    """Generate a project named my-shop from ``template`` into ``target``; return ``target``."""
    result = CliRunner().invoke(
        cli, ["new", "my-shop", "--template", template, "--directory", str(target)]
    )
    assert result.exit_code == 0, result.output
    return target


def assert_own_tests_pass(project: Path) -> None:
    """Run pytest in ``project`` as its user would; its two tests of the service must pass."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def assert_linted(project: Path) -> None:
    """Ruff's check and format find nothing in ``project``."""
    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args], cwd=project, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
