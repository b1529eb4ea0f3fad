"""Fixtures shared by core's tests.

The example services (``examples/<name>/src``) are put on ``sys.path`` for the
whole session, so tests load them by dotted path (``Service.load("orders.service")``)
as a user would, without installing them. This is a session fixture rather than
``monkeypatch.syspath_prepend`` because monkeypatch is function-scoped and the
examples are imported once per session; the fixture restores ``sys.path`` at the
end. Being a fixture, it runs after collection: import example modules inside
tests, not at the top of a test module.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(scope="session", autouse=True)
def examples_on_path() -> Iterator[list[str]]:
    """Put each example's ``src`` folder on ``sys.path`` for the session; yield them."""
    added = [str(src) for src in sorted(EXAMPLES_DIR.glob("*/src")) if str(src) not in sys.path]
    sys.path[:0] = added
    yield added
    for src in added:
        sys.path.remove(src)
