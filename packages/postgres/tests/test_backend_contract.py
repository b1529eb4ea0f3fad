"""The engine's backend contract, every check, on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventual_engine.conformance import CHECKS, BackendCheck, Timing
from eventual_postgres import PostgresBackend

# A lease must outlast the round trips between taking it and relying on it, on
# a machine that may be busy with other work.
TIMING = Timing(short=timedelta(milliseconds=200), lapse=0.3)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
async def test_backend_contract(backend: PostgresBackend, check: BackendCheck) -> None:
    """The PostgreSQL backend, on a fresh schema, keeps every promise of the backend contract."""
    await check(backend, TIMING)
