"""eventual-messaging's bus contract suite, every test, on the PostgreSQL bus.

The suite is the contract tests of eventual-messaging (``tests/test_bus.py`` and
``tests/test_delivery.py`` in its folder), which take a ``bus`` fixture and run
on its memory and SQLite buses. They are loaded here by path and collected as
this module's own, so each runs once more with ``bus`` a :class:`PostgresBus` on
a fresh schema (see ``conftest.py`` for the fixtures they use).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

MESSAGING_TESTS = Path(__file__).resolve().parents[2] / "messaging" / "tests"
SUITE = ("test_bus.py", "test_delivery.py")


def _load(name: str) -> ModuleType:
    path = MESSAGING_TESTS / name
    spec = importlib.util.spec_from_file_location(f"messaging_suite_{path.stem}", path)
    assert spec is not None, f"cannot load {path}"
    assert spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_tests = {
    name: value
    for module in map(_load, SUITE)
    for name, value in vars(module).items()
    if name.startswith("test_") and callable(value)
}
globals().update(_tests)


def test_the_whole_suite_is_collected() -> None:
    """Both files of the suite are found and every one of their tests is run here."""
    assert len(_tests) >= 24, sorted(_tests)
