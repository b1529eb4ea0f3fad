"""Fixtures for eventual-pulumi's tests: programs run offline, without the Pulumi CLI.

``run`` is ``eventual_pulumi.testing.run_program``: a program runs under mocks
that record every resource with its inputs once resolved (so placeholders and
outputs are filled) and answer the AWS invokes the component makes. One code
archive is built per test session (``bundle_dir``), so later builds are a hash
check.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eventual_pulumi.testing import Recorder, run_program

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
ORDERS_SRC = EXAMPLES / "orders" / "src"


@pytest.fixture(scope="session")
def run() -> Callable[[Callable[[], object]], Recorder]:
    """Run a Pulumi program under mocks; return the recorder (``eventual_pulumi.testing``)."""
    return run_program


@pytest.fixture(scope="session", autouse=True)
def orders_src() -> Iterator[Path]:
    """The folder examples/orders's service imports from, on ``sys.path`` for the session."""
    added = str(ORDERS_SRC) not in sys.path
    if added:
        sys.path.insert(0, str(ORDERS_SRC))
    yield ORDERS_SRC
    if added and str(ORDERS_SRC) in sys.path:
        sys.path.remove(str(ORDERS_SRC))


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle cache shared by the session's programs."""
    return tmp_path_factory.mktemp("bundles")
