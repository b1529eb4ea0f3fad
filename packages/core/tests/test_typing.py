"""The user API's generic types: correct code type-checks, wrong code is rejected by mypy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

HERE = Path(__file__).parent / "typing"
ROOT = Path(__file__).resolve().parents[3]


def _mypy(path: Path) -> tuple[str, int]:
    stdout, stderr, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--no-incremental",
            "--cache-dir=/dev/null",
            "--show-error-codes",
            "--no-error-summary",
            str(path),
        ]
    )
    return stdout + stderr, status


def test_correct_code_type_checks() -> None:
    """Correct use of tasks, workflows, commands, signals and events passes mypy --strict."""
    output, status = _mypy(HERE / "pass_api.py")
    assert status == 0, output


def test_wrong_code_is_rejected_where_expected() -> None:
    """Each line marked `# E: code` in the failing file gets exactly that mypy error."""
    path = HERE / "fail_api.py"
    output, status = _mypy(path)
    assert status == 1, output
    expected = {
        number: match.group(1)
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if (match := re.search(r"# E: ([\w-]+)", line))
    }
    found: dict[int, set[str]] = {}
    for line in output.splitlines():
        match = re.match(rf".*{path.name}:(\d+): error: .*\[([\w-]+)\]$", line)
        if match:
            found.setdefault(int(match.group(1)), set()).add(match.group(2))
    assert set(found) == set(expected), output
    for number, code in expected.items():
        assert code in found[number], f"line {number}: expected [{code}], got {found[number]}"
