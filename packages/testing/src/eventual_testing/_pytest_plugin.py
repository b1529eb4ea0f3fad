"""The pytest plugin of eventual-testing (entry point ``pytest11``): the ``eventual_env`` fixture.

``eventual_env`` is an async fixture, so it relies on pytest-asyncio (a
dependency of eventual-testing): it is declared with ``pytest_asyncio.fixture``
and therefore works in both of pytest-asyncio's modes, ``strict`` (mark async
tests with ``@pytest.mark.asyncio``) and ``auto``. Each test gets a fresh
environment on the test's own event loop.

Which service it runs: the ``eventual_service`` marker of the test (or of its
class or module) when there is one, else ``service`` of ``[tool.eventual]`` in
the ``pyproject.toml`` nearest to the test file (``EVENTUAL_SERVICE`` in the
environment overrides it, as everywhere in eventual).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest
import pytest_asyncio

from eventual import Service
from eventual.plugins import load_config

from ._environment import TestEnvironment

__all__ = ["eventual_env", "pytest_configure"]

MARKER = "eventual_service"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``eventual_service`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(service, *, start=None, replay=False): the service (module path, module "
        "or Service) the eventual_env fixture runs, where its virtual clock starts, and "
        "whether every step replays history (see eventual_testing.TestEnvironment)",
    )


def _environment_for(request: pytest.FixtureRequest) -> TestEnvironment:
    marker = request.node.get_closest_marker(MARKER)
    start: datetime | None = None
    replay = False
    service: str | ModuleType | Service | None = None
    if marker is not None:
        if len(marker.args) > 1 or set(marker.kwargs) - {"service", "start", "replay"}:
            raise pytest.UsageError(
                f"@pytest.mark.{MARKER} takes one service and the keywords start= and replay=, "
                f"got args={marker.args!r} kwargs={marker.kwargs!r}"
            )
        service = marker.args[0] if marker.args else marker.kwargs.get("service")
        start = marker.kwargs.get("start")
        replay = bool(marker.kwargs.get("replay", False))
    if service is None:
        directory = Path(str(request.path)).parent
        config = load_config(directory)
        service = config.service
        if service is None:
            where = (
                f"the nearest pyproject.toml, {config.config_file}, has no [tool.eventual] service"
                if config.config_file is not None
                else f"no pyproject.toml was found from {directory} upwards"
            )
            raise pytest.UsageError(
                f"the eventual_env fixture needs to know which service to run, and {where}. "
                'Add `[tool.eventual]\\nservice = "your_package.service"` to pyproject.toml, '
                f'or mark the test with @pytest.mark.{MARKER}("your_package.service")'
            )
    return TestEnvironment(service, start, replay=replay)


@pytest_asyncio.fixture
async def eventual_env(request: pytest.FixtureRequest) -> AsyncIterator[TestEnvironment]:
    """A running ``TestEnvironment`` of the project's service, fresh for each test."""
    async with _environment_for(request) as env:
        yield env
