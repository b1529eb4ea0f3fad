"""The system API's answer to a signal when the execution ends as the signal is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import httpx
import pytest

from eventual import ExecutionStatus, Service, ServiceClient, continue_as_new, signal, workflow
from eventual.codec import JsonValue
from eventual.history import SignalReceived
from eventual.spi import InboundMessage
from eventual_engine import Engine, HttpApp

from .conftest import EngineFactory

go = signal("go", int)
other = signal("other", int)


@workflow
async def waits(n: int) -> int:
    """Returns ``n`` plus the first ``go`` signal."""
    return n + await go.expect()


@workflow
async def relays(n: int) -> int:
    """Takes one ``go``, then continues as new; the second run returns the next ``go``."""
    got = await go.expect()
    if n == 0:
        continue_as_new(got)
    return got


SERVICE = Service.from_definitions("signals", [go, other, waits, relays])
PATH = "/_eventual/executions/waits/x/signals/go"


@pytest.fixture
async def engine(any_engine_factory: EngineFactory) -> AsyncIterator[Engine]:
    """An engine whose execution ``waits/x`` waits for ``go``, on each backend."""
    engine = any_engine_factory(SERVICE)
    await engine.backend.open()
    await engine.start_execution("waits", 1, "x")
    await engine.run_until_idle()
    yield engine
    await engine.stop(grace=0.0)


async def post_signal(engine: Engine, path: str = PATH, payload: int = 41) -> httpx.Response:
    transport = httpx.ASGITransport(app=HttpApp(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        return await http.post(path, json=payload)


def received(history: Sequence[object]) -> list[SignalReceived]:
    return [e for e in history if isinstance(e, SignalReceived)]


async def test_an_execution_ending_before_the_queued_signal_reaches_it_answers_discarded(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal queued just after the execution ended (past any look at its status) is discarded."""
    enqueue = engine.backend.queue.enqueue
    queued: list[str] = []

    async def ending_first(messages: Sequence[InboundMessage]) -> None:
        if any(isinstance(m.event, SignalReceived) for m in messages):
            # The execution ends after the client saw it running, before the message is queued.
            await engine.cancel_execution("waits/x")
            await engine.run_until_idle()
            queued.extend(m.id for m in messages)
        await enqueue(messages)

    monkeypatch.setattr(engine.backend.queue, "enqueue", ending_first)
    response = await post_signal(engine)
    await engine.run_until_idle()
    assert queued, "the signal was never queued, so the race was not forced"
    assert response.status_code == 202
    assert response.json() == {
        "accepted": False,
        "message": "execution 'waits/x' has ended (CANCELLED); the signal 'go' was discarded",
    }
    assert received(await engine.execution_history("waits/x")) == []


async def test_a_signal_the_execution_consumed_before_ending_answers_accepted(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal that the execution takes and then ends on is accepted, though it has ended."""
    queue_signal = engine.queue_signal

    async def then_ending(execution_id: str, name: str, payload: JsonValue) -> str | None:
        message_id = await queue_signal(execution_id, name, payload)
        await engine.run_until_idle()  # the workflow takes the signal and returns
        return message_id

    monkeypatch.setattr(engine, "queue_signal", then_ending)
    response = await post_signal(engine)
    assert response.status_code == 202
    assert response.json() == {"accepted": True, "message": None}
    record = await engine.execution_record("waits/x")
    assert (record.status, record.result) == (ExecutionStatus.SUCCEEDED, 42)


async def test_a_signal_kept_unconsumed_until_the_end_answers_accepted(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal the execution received but never consumed before it ended counts as accepted."""
    queue_signal = engine.queue_signal

    async def then_ending(execution_id: str, name: str, payload: JsonValue) -> str | None:
        message_id = await queue_signal(execution_id, name, payload)
        await engine.run_until_idle()  # `other` is kept: nothing expects it
        await engine.cancel_execution(execution_id)
        await engine.run_until_idle()
        return message_id

    monkeypatch.setattr(engine, "queue_signal", then_ending)
    response = await post_signal(engine, "/_eventual/executions/waits/x/signals/other", 7)
    assert response.json() == {"accepted": True, "message": None}
    assert await engine.execution_status("waits/x") is ExecutionStatus.CANCELLED
    assert [e.signal for e in received(await engine.execution_history("waits/x"))] == ["other"]


async def test_a_signal_an_earlier_run_took_answers_accepted(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal a run took before continuing as new is accepted though the last run has ended."""
    await engine.start_execution("relays", 0, "r")
    await engine.run_until_idle()
    queue_signal = engine.queue_signal

    async def then_ending(execution_id: str, name: str, payload: JsonValue) -> str | None:
        message_id = await queue_signal(execution_id, name, payload)
        await engine.run_until_idle()  # run 1 takes it and continues as new
        await engine.cancel_execution(execution_id)
        await engine.run_until_idle()
        return message_id

    monkeypatch.setattr(engine, "queue_signal", then_ending)
    response = await post_signal(engine, "/_eventual/executions/relays/r/signals/go", 5)
    assert response.json() == {"accepted": True, "message": None}
    record = await engine.execution_record("relays/r")
    assert (record.status, record.run) == (ExecutionStatus.CANCELLED, 2)


async def test_a_signal_in_the_step_that_ends_the_execution_after_the_end_answers_discarded(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal taken in the same step as the cancel that came before it is discarded."""
    queue_signal = engine.queue_signal

    async def behind_a_cancel(execution_id: str, name: str, payload: JsonValue) -> str | None:
        await engine.cancel_execution(execution_id)  # queued first, applied first
        message_id = await queue_signal(execution_id, name, payload)
        await engine.run_until_idle()
        return message_id

    monkeypatch.setattr(engine, "queue_signal", behind_a_cancel)
    response = await post_signal(engine)
    assert response.json()["accepted"] is False
    assert "has ended (CANCELLED)" in response.json()["message"]
    assert received(await engine.execution_history("waits/x")) == []


async def test_service_client_send_signal_does_not_fail_on_a_discarded_signal(
    engine: Engine,
) -> None:
    """ServiceClient.send_signal to an execution that has ended returns without an error."""
    await engine.cancel_execution("waits/x")
    await engine.run_until_idle()
    transport = httpx.ASGITransport(app=HttpApp(engine))
    async with ServiceClient("http://127.0.0.1", transport=transport) as client:
        await client.send_signal("waits/x", go, 1)
    assert received(await engine.execution_history("waits/x")) == []
