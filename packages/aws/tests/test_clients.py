"""AWS requests are counted by operation, with the bytes each write sends."""

from __future__ import annotations

from eventual_aws._backend import AwsBackend
from eventual_engine.conformance._support import consume, start, started_and_claimed


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
