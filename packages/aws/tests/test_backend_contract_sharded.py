"""The engine's backend contract on the AWS backend with every index spread over shards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs
import boto3
import pytest

from eventual_aws._backend import AwsBackend, AwsBackendConfig
from eventual_engine.conformance import CHECKS, BackendCheck

from .test_backend_contract import TIMING


@pytest.fixture
async def sharded(
    fresh_config: AwsBackendConfig, session: boto3.Session
) -> AsyncIterator[AwsBackend]:
    """An AWS backend on a new table whose every index (timers to outbox) has 3 shards."""
    config = attrs.evolve(
        fresh_config,
        timer_shards=3,
        listing_shards=3,
        task_shards=3,
        inbox_shards=3,
        outbox_shards=3,
    )
    created = AwsBackend(config, session=session)
    await created.create_resources()
    yield created
    await created.close()


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
async def test_sharded_backend_contract(sharded: AwsBackend, check: BackendCheck) -> None:
    """With three shards of each index, the AWS backend keeps every promise of the contract."""
    await check(sharded, TIMING)
