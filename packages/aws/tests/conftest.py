"""Fixtures shared by eventual-aws's tests.

The example services (``examples/<name>/src``) are put on ``sys.path`` for the
session, so tests plan them by dotted path (``plan("orders.service")``) as a user
would, without installing them; ``make_package`` writes a throwaway service.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples"

MakePackage = Callable[[str], str]


@pytest.fixture(scope="session", autouse=True)
def examples_on_path() -> Iterator[list[str]]:
    """Put each example's ``src`` folder on ``sys.path`` for the session; yield them."""
    added = [str(src) for src in sorted(EXAMPLES_DIR.glob("*/src")) if str(src) not in sys.path]
    sys.path[:0] = added
    yield added
    for src in added:
        sys.path.remove(src)


@pytest.fixture
def make_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakePackage]:
    """Yield a function writing a one-module service from its source; it returns the module path.

    The service's name is ``shop`` (its package); modules are forgotten after the test.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def make(source: str) -> str:
        module = f"m_{uuid.uuid4().hex[:12]}"
        package = tmp_path / "shop"
        package.mkdir(exist_ok=True)
        (package / "__init__.py").touch()
        (package / f"{module}.py").write_text(textwrap.dedent(source))
        names.append(f"shop.{module}")
        return f"shop.{module}"

    yield make
    for module in list(sys.modules):
        if module == "shop" or module.startswith("shop."):
            del sys.modules[module]
