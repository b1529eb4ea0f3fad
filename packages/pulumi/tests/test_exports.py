"""The public surface of eventual-pulumi is pinned."""

from __future__ import annotations

import subprocess
import sys

import eventual_pulumi
import eventual_pulumi.testing


def test_all_is_pinned_and_sorted() -> None:
    """__all__ is exactly the expected, sorted list, and every name exists."""
    assert eventual_pulumi.__all__ == [
        "Bucket",
        "Function",
        "FunctionOverrides",
        "HttpApi",
        "Service",
    ]
    assert eventual_pulumi.__all__ == sorted(eventual_pulumi.__all__)
    for name in eventual_pulumi.__all__:
        assert hasattr(eventual_pulumi, name)


def test_testing_all_is_pinned_and_importable_without_pytest() -> None:
    """eventual_pulumi.testing exports exactly its helpers and imports without pulling pytest."""
    assert eventual_pulumi.testing.__all__ == [
        "ACCOUNT",
        "API_ENDPOINT",
        "REGION",
        "Recorder",
        "Resource",
        "run_program",
    ]
    for name in eventual_pulumi.testing.__all__:
        assert hasattr(eventual_pulumi.testing, name)
    check = "import sys, eventual_pulumi.testing; print('pytest' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
