"""The engine's backend contract, every check, on the AWS backend against moto."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventual_aws._backend import AwsBackend
from eventual_engine.conformance import CHECKS, BackendCheck, Timing

# A lease must outlast the round trips between taking it and relying on it.
TIMING = Timing(short=timedelta(seconds=1), lapse=1.05)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
async def test_backend_contract(backend: AwsBackend, check: BackendCheck) -> None:
    """The AWS backend, on a fresh table, keeps every promise of the backend contract."""
    await check(backend, TIMING)
