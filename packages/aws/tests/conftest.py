"""Fixtures shared by eventual-aws's tests.

The example services (``examples/<name>/src``) are put on ``sys.path`` for the
session, so tests plan them by dotted path (``plan("orders.service")``) as a user
would, without installing them; ``make_package`` writes a throwaway service.

The runtime's tests run against a local AWS endpoint: moto's server in a thread,
started once for the session (``endpoint``), with a new table per backend.
"""

from __future__ import annotations

import itertools
import socket
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import boto3
import pytest

from eventual_aws._backend import AwsBackend, AwsBackendConfig
from eventual_aws._moto import start_server

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


REGION = "us-east-1"
BUCKET = "eventual-payloads"
_tables = itertools.count()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
    """The URL of a moto server, started once for all the tests that need one."""
    server, url = start_server()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def session() -> boto3.Session:
    """A boto3 session with moto's dummy credentials (shared: it caches service models)."""
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


@pytest.fixture
def fresh_config(endpoint: str) -> AwsBackendConfig:
    """A configuration on a table of its own (so each test starts empty) and the shared bucket."""
    return AwsBackendConfig(
        table=f"eventual-{next(_tables)}", bucket=BUCKET, region=REGION, endpoint_url=endpoint
    )


@pytest.fixture
async def backend(
    fresh_config: AwsBackendConfig, session: boto3.Session
) -> AsyncIterator[AwsBackend]:
    """An AWS backend on a new, empty table of the module's moto server."""
    created = AwsBackend(fresh_config, session=session)
    await created.create_resources()
    yield created
    await created.close()
