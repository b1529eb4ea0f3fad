"""TestEnvironment: lifecycle, the virtual clock, executions and handles, the ambient client."""

from __future__ import annotations

import random as stdlib_random
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from eventual import (
    DefinitionNotFound,
    ExecutionStatus,
    Service,
    TaskError,
    WorkflowFailed,
    now,
    signal,
    sleep,
    task,
    workflow,
)
from eventual.history import TimerFired, WorkflowStarted
from eventual.spi import current_client
from eventual_engine import Engine, MemoryBackend
from eventual_testing import TestEnvironment
from eventual_testing._bus import RecordingBus

fired_at: list[datetime] = []


@task
async def record_time(label: str) -> str:
    fired_at.append(now())
    return label


@task
async def add(a: int, b: int) -> int:
    return a + b


@workflow
async def two_sleepers(hours: int) -> list[str]:
    """Sleeps in two steps and records when each step ended."""
    await sleep(timedelta(hours=hours))
    first = await record_time("first")
    await sleep(timedelta(hours=hours))
    second = await record_time("second")
    return [first, second]


@workflow
async def adder(n: int) -> int:
    return await add(n, 1)


@task
async def add_in_another_execution(n: int) -> int:
    """A task that starts a workflow and waits for its result."""
    handle = await adder.start(n, name=f"inner-{n}")
    return await handle.result()


@task
async def wait_for_sleepers(hours: int) -> list[str]:
    """A task waiting for an execution that needs virtual time to pass."""
    handle = await two_sleepers.start(hours, name=f"sleepers-{hours}")
    return await handle.result()


@workflow
async def outer_sleepers(hours: int) -> list[str]:
    return await wait_for_sleepers(hours)


@workflow
async def outer(n: int) -> int:
    return await add_in_another_execution(n)


go = signal("go", str)


@workflow
async def waits_for_go(_: None) -> str:
    return await go.expect()


@workflow
async def coin(_: None) -> str:
    """Nondeterministic on purpose: the standard library's random is not replayed."""
    if stdlib_random.random() < 0.5:
        await add(1, 2)
    else:
        await sleep(timedelta(seconds=1))
    await sleep(timedelta(seconds=1))
    await add(3, 4)
    return "done"


SERVICE = Service.from_definitions(
    "environment",
    [
        record_time,
        add,
        two_sleepers,
        adder,
        add_in_another_execution,
        outer,
        wait_for_sleepers,
        outer_sleepers,
        go,
        waits_for_go,
        coin,
    ],
)


async def test_the_clock_starts_at_a_fixed_instant_or_at_start() -> None:
    """The clock starts at DEFAULT_START unless given a start, and needs a timezone."""
    async with TestEnvironment(SERVICE) as env:
        assert env.now == TestEnvironment.DEFAULT_START == datetime(2026, 1, 1, tzinfo=UTC)
    start = datetime(2030, 6, 1, 12, tzinfo=UTC)
    async with TestEnvironment(SERVICE, start) as env:
        assert env.now == start
    with pytest.raises(ValueError, match="timezone-aware start"):
        TestEnvironment(SERVICE, datetime(2030, 1, 1))


async def test_time_moves_only_when_told_and_timers_fire_at_their_instant() -> None:
    """Nothing fires while idle; advance fires each timer at its own virtual time, in order."""
    fired_at.clear()
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(two_sleepers, 1)
        await env.run_until_idle()
        assert env.now == TestEnvironment.DEFAULT_START
        assert await handle.status() is ExecutionStatus.RUNNING
        await env.advance(timedelta(hours=5))
        assert env.now == TestEnvironment.DEFAULT_START + timedelta(hours=5)
        assert await handle.result() == ["first", "second"]
    start = TestEnvironment.DEFAULT_START
    assert fired_at == [start + timedelta(hours=1), start + timedelta(hours=2)]


async def test_advance_to_rejects_the_past_and_naive_times() -> None:
    """advance_to moves to an instant; going back, a naive time or a wrong type is a clear error."""
    async with TestEnvironment(SERVICE) as env:
        target = env.now + timedelta(days=30)
        await env.advance_to(target)
        assert env.now == target
        with pytest.raises(ValueError, match="cannot go back"):
            await env.advance_to(target - timedelta(seconds=1))
        with pytest.raises(ValueError, match="cannot go back"):
            await env.advance(timedelta(seconds=-1))
        with pytest.raises(ValueError, match="timezone-aware"):
            await env.advance_to(datetime(2040, 1, 1))
        with pytest.raises(TypeError, match="advance takes a timedelta"):
            await env.advance(60)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="advance_to takes a timezone-aware datetime"):
            await env.advance_to("2040-01-01T00:00:00Z")  # type: ignore[arg-type]


async def test_next_due_names_the_next_timer() -> None:
    """next_due is the earliest scheduled timer, or None when nothing is scheduled."""
    async with TestEnvironment(SERVICE) as env:
        assert await env.next_due() is None
        await env.start(two_sleepers, 3)
        await env.run_until_idle()
        assert await env.next_due() == env.now + timedelta(hours=3)


async def test_each_entry_starts_from_fresh_state() -> None:
    """Executions and mocks of one `async with` are gone in the next, even on one object."""
    env = TestEnvironment(SERVICE)
    async with env:
        env.mock(add).returns(100)
        handle = await env.start(adder, 1, name="same")
        assert await handle.result() == 100
        await env.advance(timedelta(days=1))
    async with env:
        assert env.now == TestEnvironment.DEFAULT_START
        handle = await env.start(adder, 2, name="same")  # another input: no clash
        assert await handle.result() == 3  # the real task again


async def test_the_environment_is_the_ambient_client_only_inside() -> None:
    """wf.start uses the environment inside `async with`; outside there is no client."""
    assert current_client() is None
    async with TestEnvironment(SERVICE) as env:
        assert current_client() is not None
        handle = await adder.start(41)
        assert await handle.result() == 42
        assert await adder(1) == 2  # awaiting a workflow from a test runs it to the end
        assert isinstance(env.engine, Engine)
    assert current_client() is None
    with pytest.raises(RuntimeError, match="not running"):
        _ = env.now


async def test_the_ambient_client_is_reset_when_the_test_body_raises() -> None:
    """A failing test body leaves no client behind; an inner environment restores the outer."""

    async def failing_test() -> None:
        async with TestEnvironment(SERVICE):
            assert current_client() is not None
            raise KeyError("the test failed")

    with pytest.raises(KeyError):
        await failing_test()
    assert current_client() is None
    async with TestEnvironment(SERVICE) as outer_env:
        outer_client = current_client()
        with pytest.raises(KeyError):
            await failing_test()
        assert current_client() is outer_client
        assert await (await outer_env.start(adder, 1)).result() == 2
    assert current_client() is None


async def test_an_environment_is_entered_once_at_a_time() -> None:
    """Entering a running environment again is an error rather than shared state."""
    async with TestEnvironment(SERVICE) as env:
        with pytest.raises(RuntimeError, match="already running"):
            await env.__aenter__()


async def test_handles_signal_cancel_and_show_history() -> None:
    """Handles from env.start signal, cancel and read history like production handles."""
    async with TestEnvironment(SERVICE) as env:
        signalled = await env.start(waits_for_go, None)
        await signalled.signal(go, "now")
        assert await signalled.result() == "now"
        cancelled = await env.start(waits_for_go, None)
        await env.run_until_idle()
        await cancelled.cancel()
        with pytest.raises(WorkflowFailed) as failed:
            await cancelled.result()
        assert await cancelled.status() is ExecutionStatus.CANCELLED
        assert failed.value.error_type == "CancelledError"
        history = await signalled.history()
        assert isinstance(history[0], WorkflowStarted)
        assert env.execution(signalled.id) == signalled
        assert await env.execution(signalled.id).result() == "now"


async def test_unmocked_tasks_run_their_real_code() -> None:
    """Without a mock the task worker runs the task's own body."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(adder, 20)
        assert await handle.result() == 21


async def test_a_test_module_can_be_the_service() -> None:
    """A module (here this one) is loaded as a service like a module path."""
    async with TestEnvironment(sys.modules[__name__]) as env:
        assert await (await env.start(adder, 1)).result() == 2


async def test_mocking_a_definition_outside_the_service_is_a_clear_error() -> None:
    """Mocking a task the service does not have names the service and what it knows."""

    @task
    async def stranger() -> None:
        pass

    async with TestEnvironment(Service.from_definitions("small", [add])) as env:
        with pytest.raises(DefinitionNotFound, match=r"cannot mock task 'stranger'.*known: add"):
            env.mock(stranger)
        with pytest.raises(TypeError, match="takes a task or a workflow"):
            env.mock(go)  # type: ignore[call-overload]


async def test_replay_mode_catches_nondeterministic_workflow_code() -> None:
    """With replay=True every step replays history, so code that changes on replay fails."""
    outcomes: set[str] = set()
    for seed in range(8):
        stdlib_random.seed(seed)
        async with TestEnvironment(SERVICE, replay=True) as env:
            handle = await env.start(coin, None)
            await env.advance(timedelta(seconds=5))
            try:
                outcomes.add(await handle.result())
            except WorkflowFailed as error:
                outcomes.add(error.error_type)
    assert "DeterminismError" in outcomes


async def test_explain_shows_the_timeline_and_what_it_waits_for() -> None:
    """Explain lists every event with its virtual time and the calls still open."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(two_sleepers, 1)
        await env.advance(timedelta(hours=1, minutes=30))
        text = await env.explain(handle)
    assert f"execution {handle.id!r} of workflow 'two_sleepers'" in text
    assert "RUNNING" in text
    assert "+1:00:00  seq 1    TimerFired" in text
    assert "waiting for:\n  seq 3 TimerScheduled until=+2:00:00" in text


async def test_events_fired_are_recorded_in_history_at_virtual_times() -> None:
    """History timestamps are virtual: a one-hour timer fires exactly an hour in."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(two_sleepers, 1)
        await env.advance(timedelta(hours=3))
        fired = [e for e in await handle.history() if isinstance(e, TimerFired)]
    assert [e.timestamp - TestEnvironment.DEFAULT_START for e in fired] == [
        timedelta(hours=1),
        timedelta(hours=2),
    ]


async def test_a_task_error_surfaces_as_task_error_in_the_workflow() -> None:
    """A failing real task reaches the workflow as TaskError, as in production."""

    @task
    async def broken() -> int:
        raise ValueError("nope")

    @workflow
    async def catches(_: None) -> str:
        try:
            await broken()
        except TaskError as error:
            return error.error_type
        return "no error"

    async with TestEnvironment(Service.from_definitions("t", [broken, catches])) as env:
        assert await (await env.start(catches, None)).result() == "ValueError"


async def test_a_task_can_wait_for_another_execution() -> None:
    """Code the engine runs waits through the environment's client, so it settles, not hangs."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(outer, 2)
        assert await handle.result() == 3
        inner = env.execution("adder/inner-2")
        assert await inner.status() == ExecutionStatus.SUCCEEDED


async def test_a_task_waiting_on_virtual_time_fails_instead_of_hanging() -> None:
    """A task awaiting an execution that needs the clock moved gets ExecutionStillRunning."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(outer_sleepers, 1)
        with pytest.raises(WorkflowFailed) as failed:
            await handle.result()
        assert failed.value.error_type == "TaskError"
        assert "ExecutionStillRunning" in failed.value.message


async def test_a_start_that_fails_closes_what_it_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    """When bringing the schedulers in step fails, the environment closes all it opened."""
    closed: list[str] = []
    backend_close, bus_close, http_close = (
        MemoryBackend.close,
        RecordingBus.close,
        httpx.AsyncClient.aclose,
    )

    async def close_backend(backend: MemoryBackend) -> None:
        closed.append("store")
        await backend_close(backend)

    async def close_bus(bus: RecordingBus) -> None:
        closed.append("bus")
        await bus_close(bus)

    async def close_http(http: httpx.AsyncClient) -> None:
        closed.append("http")
        await http_close(http)

    async def failing_sync(engine: Engine) -> None:
        raise OSError("the store went away")

    monkeypatch.setattr(MemoryBackend, "close", close_backend)
    monkeypatch.setattr(RecordingBus, "close", close_bus)
    monkeypatch.setattr(httpx.AsyncClient, "aclose", close_http)
    monkeypatch.setattr("eventual_testing._environment.sync_schedules", failing_sync)
    env = TestEnvironment(Service.from_definitions("failing", [adder, add]))
    with pytest.raises(OSError, match="the store went away"):
        await env.__aenter__()
    assert sorted(closed) == ["bus", "http", "store"]
    with pytest.raises(RuntimeError, match="not running"):
        env.now  # noqa: B018  # the property raises once nothing runs
