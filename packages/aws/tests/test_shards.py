"""Listing, task, inbox and outbox indexes spread over shards read like one partition."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

import attrs
import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventual import ExecutionStatus
from eventual.history import PublishedEvent
from eventual.spi import ExecutionFilter, StepCommit
from eventual_aws._backend import AwsBackend, AwsBackendConfig
from eventual_aws._backend._items import shard_of
from eventual_engine.conformance.support import (
    LONG,
    T0,
    dispatch,
    make_record,
    signal,
    started_of,
    task,
)

from .conftest import BUCKET, REGION

_tables = itertools.count()
_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
_FILTERS = [
    ExecutionFilter(),
    ExecutionFilter(workflow="a"),
    ExecutionFilter(status=ExecutionStatus.RUNNING),
    ExecutionFilter(workflow="b", status=ExecutionStatus.RUNNING),
]


def _config(
    endpoint: str, *, listing: int = 1, tasks: int = 1, inbox: int = 1, outbox: int = 1
) -> AwsBackendConfig:
    return AwsBackendConfig(
        table=f"eventual-shards-{next(_tables)}",
        bucket=BUCKET,
        region=REGION,
        endpoint_url=endpoint,
        listing_shards=listing,
        task_shards=tasks,
        inbox_shards=inbox,
        outbox_shards=outbox,
    )


async def _create(backend: AwsBackend, started: Sequence[tuple[str, str]]) -> list[str]:
    ids = []
    for workflow, name in started:
        record = make_record(name, workflow=workflow)
        await backend.executions.create(record, started_of(record), ())
        ids.append(record.id)
    return ids


async def _publish(backend: AwsBackend, execution_id: str, *names: str) -> None:
    """Commit a step of a running execution that publishes an event per name."""
    record = await backend.executions.get(execution_id)
    assert record is not None
    step = StepCommit(
        execution_id=execution_id,
        expected_length=1,
        lease=None,
        record=record,
        published=tuple(PublishedEvent(name=name, payload=name) for name in names),
    )
    await backend.executions.commit(step)


async def _outbox_partitions(backend: AwsBackend, execution_ids: Sequence[str]) -> list[str]:
    """Return the outbox index partition of each execution's published events, in order."""
    partitions = []
    for execution_id in execution_ids:
        async for item in backend._store.table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={":pk": {"S": f"X#{execution_id}"}, ":p": {"S": "P#"}},
        ):
            partitions.append(item["gsi2pk"]["S"])
    return partitions


async def _pages(backend: AwsBackend, query: ExecutionFilter, sizes: Sequence[int]) -> list[str]:
    listed: list[str] = []
    after: str | None = None
    for size in itertools.cycle(sizes):
        page = await backend.executions.list(attrs.evolve(query, limit=size, after=after))
        assert len(page.executions) <= size
        listed += [record.id for record in page.executions]
        if page.next is None:
            return listed
        assert len(page.executions) == size
        after = page.next
    raise AssertionError("unreachable")


def _matches(execution_id: str, query: ExecutionFilter) -> bool:
    return query.workflow is None or execution_id.startswith(f"{query.workflow}/")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    started=st.lists(st.tuples(st.sampled_from("ab"), _NAMES), max_size=14, unique_by=lambda x: x),
    shards=st.integers(min_value=1, max_value=5),
    sizes=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=4),
    query=st.sampled_from(_FILTERS),
)
def test_sharded_pages_list_each_execution_once_newest_first(
    endpoint: str,
    session: boto3.Session,
    started: list[tuple[str, str]],
    shards: int,
    sizes: list[int],
    query: ExecutionFilter,
) -> None:
    """Pages over any number of listing shards give the unsharded order: newest first, once."""

    async def scenario() -> None:
        backend = AwsBackend(_config(endpoint, listing=shards), session=session)
        await backend.create_resources()
        try:
            ids = await _create(backend, started)
            expected = [id_ for id_ in reversed(ids) if _matches(id_, query)]
            assert await _pages(backend, query, sizes) == expected
        finally:
            await backend.close()

    asyncio.run(scenario())


@pytest.fixture
async def table(endpoint: str, session: boto3.Session) -> AwsBackendConfig:
    """A configuration with one shard of everything on a new table."""
    config = _config(endpoint)
    backend = AwsBackend(config, session=session)
    await backend.create_resources()
    await backend.close()
    return config


async def test_more_shards_read_what_one_shard_wrote(
    table: AwsBackendConfig, session: boto3.Session
) -> None:
    """Raising the shard counts keeps every execution, attempt and message already written."""
    one = AwsBackend(table, session=session)
    old = await _create(one, [("a", f"old{i}") for i in range(3)])
    # Listing items written before their keys held the execution id had the bare stamp.
    for execution_id in old[:2]:
        key = {"pk": {"S": f"X#{execution_id}"}}
        for sk, index in (("R", "gsi1"), ("H#0000000000", "gsi1"), ("S", "gsi1"), ("S", "gsi2")):
            item = await one._store.table.get({**key, "sk": {"S": sk}})
            assert item is not None
            bare = item[f"{index}sk"]["S"].split("#")[0]
            await one._store.table.update(
                Key={**key, "sk": {"S": sk}},
                UpdateExpression=f"SET {index}sk = :order",
                ExpressionAttributeValues={":order": {"S": bare}},
            )
    await dispatch(one, task(old[0], 1))
    await one.queue.enqueue([signal(old[1], "m1")])
    await _publish(one, old[2], "old event")
    # One shard keeps the partition every table written before outbox shards has.
    assert await _outbox_partitions(one, old[2:]) == ["outbox"]
    before = {query: await _pages(one, query, [100]) for query in _FILTERS[:3]}
    await one.close()
    more = AwsBackend(
        attrs.evolve(table, listing_shards=4, task_shards=4, inbox_shards=4, outbox_shards=4),
        session=session,
    )
    try:
        new = await _create(more, [("a", f"new{i}") for i in range(5)])
        for query, listed in before.items():
            assert await _pages(more, query, [2]) == list(reversed(new)) + listed
        assert [t.token for t in await more.tasks.claim("o", T0, 10, LONG)] == [
            task(old[0], 1).token
        ]
        claimed = await more.queue.claim("o", 20, LONG)
        assert set(old + new) <= {batch.execution_id for batch in claimed}
        assert [event.name for _, event in await more.published(10)] == ["old event"]
    finally:
        await more.close()


async def test_sharded_tasks_and_inbox_keep_their_order(
    endpoint: str, session: boto3.Session
) -> None:
    """Attempts come in dispatch order and executions by first message, across shards."""
    backend = AwsBackend(_config(endpoint, tasks=3, inbox=3), session=session)
    await backend.create_resources()
    try:
        ids = await _create(backend, [("a", f"e{i}") for i in range(8)])
        partitions = set()
        for execution_id in ids:
            item = await backend._store.table.get(
                {"pk": {"S": f"X#{execution_id}"}, "sk": {"S": "R"}}
            )
            assert item is not None
            partitions.add(item["gsi2pk"]["S"])
        assert len(partitions) > 1
        batches = await backend.queue.claim("o", 3, LONG)
        assert [batch.execution_id for batch in batches] == ids[:3]
        tasks = [task(execution_id, 1) for execution_id in ids]
        await dispatch(backend, *tasks)
        tokens = set()
        for token in (t.token for t in tasks):
            item = await backend._store.table.get({"pk": {"S": f"K#{token}"}, "sk": {"S": "K"}})
            assert item is not None
            tokens.add(item["gsi1pk"]["S"])
        assert len(tokens) > 1
        assert await backend.tasks.pending() == len(tasks)
        claimed = await backend.tasks.claim("o", T0, 5, LONG)
        assert [t.token for t in claimed] == [t.token for t in tasks[:5]]
    finally:
        await backend.close()


async def test_a_relay_reads_every_outbox_shard_oldest_first(
    endpoint: str, session: boto3.Session
) -> None:
    """Events published into four outbox shards are all relayed, in commit order, until acked."""
    backend = AwsBackend(_config(endpoint, outbox=4), session=session)
    await backend.create_resources()
    try:
        ids = await _create(backend, [("a", f"e{i}") for i in range(8)])
        assert {shard_of(execution_id, 4) for execution_id in ids} == {0, 1, 2, 3}
        for index, execution_id in enumerate(ids):
            await _publish(backend, execution_id, f"n{index}a", f"n{index}b")
        partitions = await _outbox_partitions(backend, ids)
        assert set(partitions) == {"outbox", "outbox#1", "outbox#2", "outbox#3"}
        names = [f"n{index}{part}" for index in range(8) for part in "ab"]
        outbox = await backend.published(100)
        assert [event.name for _, event in outbox] == names
        assert await backend.published(5) == outbox[:5]
        await backend.ack_published([outbox_id for outbox_id, _ in outbox[::2]])
        assert await backend.published(100) == outbox[1::2]
        await backend.ack_published([outbox_id for outbox_id, _ in outbox[1::2]])
        assert await backend.published(100) == []
    finally:
        await backend.close()
