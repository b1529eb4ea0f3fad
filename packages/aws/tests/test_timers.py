"""Timers spread over several index shards are still claimed earliest first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import attrs
import boto3
import pytest

from eventual_aws._backend import AwsBackend, AwsBackendConfig
from eventual_engine.conformance.support import LONG, T0, timer


@pytest.fixture
async def sharded(
    fresh_config: AwsBackendConfig, session: boto3.Session
) -> AsyncIterator[AwsBackend]:
    """A backend whose timer index has three shards."""
    backend = AwsBackend(attrs.evolve(fresh_config, timer_shards=3), session=session)
    await backend.create_resources()
    yield backend
    await backend.close()


async def test_sharded_timers_come_due_in_order(sharded: AwsBackend) -> None:
    """Claims merge the shards: due time first, then id, whichever shard holds each timer."""
    timers = [timer("wf/a", f"t{i}", T0 + timedelta(minutes=(7 * i) % 10)) for i in range(10)]
    await sharded.timers.schedule(timers)
    shards = {
        item["gsi1pk"]["S"]
        for t in timers
        if (item := await sharded._store.table.get({"pk": {"S": f"T#{t.id}"}, "sk": {"S": "T"}}))
    }
    assert len(shards) > 1
    expected = sorted(timers, key=lambda t: (t.due, t.id))
    assert await sharded.timers.next_due() == expected[0].due
    now = T0 + timedelta(minutes=10)
    assert await sharded.timers.claim_due("o", now, 4, LONG) == expected[:4]
    assert await sharded.timers.claim_due("o", now, 10, LONG) == expected[4:]
    assert await sharded.timers.next_due() is None
