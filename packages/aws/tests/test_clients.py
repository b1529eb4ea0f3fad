"""AWS requests are counted by operation, with the bytes each write sends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import attrs

from eventual_aws._backend import AwsBackend
from eventual_aws._backend._clients import Clients
from eventual_engine.conformance.support import consume, start, started_and_claimed


async def test_requests_are_counted_by_service_and_operation(backend: AwsBackend) -> None:
    """Each call shows up once under ``service.Operation``; writes also count their bytes."""
    before = backend.requests.copy()
    record = await start(backend, "a")
    await backend.executions.get(record.id)
    spent = backend.requests - before
    assert spent == {"dynamodb.TransactWriteItems": 1, "dynamodb.GetItem": 1}
    assert backend.bytes_written["dynamodb.TransactWriteItems"] > 0
    assert "dynamodb.GetItem" not in backend.bytes_written


async def test_a_step_costs_a_constant_number_of_requests(backend: AwsBackend) -> None:
    """Claiming and committing a step costs the same requests however long the history is."""
    record, batch = await started_and_claimed(backend, "b")
    before = backend.requests.copy()
    await backend.executions.commit(consume(batch, record, 1))
    assert backend.requests - before == {"dynamodb.TransactWriteItems": 1}


@attrs.frozen
class _Settings:
    region: str | None = "us-east-1"
    endpoint_url: str | None = "http://127.0.0.1:1"
    max_workers: int = 4


def test_clients_are_created_on_first_use_once_and_reused() -> None:
    """No client exists until one is used; each is created once, even by threads racing for it."""
    clients = Clients(_Settings())
    try:
        assert clients.created == frozenset()
        with ThreadPoolExecutor(8) as pool:
            seen = list(pool.map(lambda _: clients.sqs, range(32)))
        assert len({id(client) for client in seen}) == 1
        assert clients.sqs is seen[0]
        assert clients.created == {"sqs"}
        assert clients.dynamodb.meta.service_model.service_name == "dynamodb"
        assert clients.created == {"sqs", "dynamodb"}
    finally:
        clients.close()
