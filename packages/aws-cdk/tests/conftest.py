"""Fixtures shared by eventual-aws-cdk's tests.

Synthesizing costs seconds (a Node.js process behind jsii), so each test module
synthesizes once, in a module-scoped fixture, and its tests read the template.
Bundles are kept for the session in one cache, so the Lambda code is installed
once, offline, from uv's cache.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ORDERS_SRC = ROOT / "examples" / "orders" / "src"
SERVICES = Path(__file__).resolve().parent / "services"

# aws-cdk-lib warns on every process start when Node.js is older than it prefers.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def orders_src() -> Path:
    """The orders example's import root (``orders.service``)."""
    return ORDERS_SRC


@pytest.fixture(scope="session")
def services_dir() -> Path:
    """The import root of the test services (``shipping.service``)."""
    return SERVICES


@pytest.fixture(scope="session")
def bundle_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return one bundle cache folder for the whole session."""
    return tmp_path_factory.mktemp("eventual-bundles")


@pytest.fixture(scope="session", autouse=True)
def orders_importable(orders_src: Path) -> None:
    """Make ``orders.service`` importable, as ``Service(source_dir=...)`` does when it plans."""
    if str(orders_src) not in sys.path:
        sys.path.insert(0, str(orders_src))
