"""Task tokens are signed: only the token ``task_info()`` gave finishes an attempt."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from eventual import (
    ExecutionStatus,
    Service,
    ValidationError,
    complete_async,
    continue_as_new,
    task,
    task_info,
    workflow,
)
from eventual.history import WorkflowStarted
from eventual_engine import Engine, HttpApp, ManualClock, MemoryBackend
from eventual_engine._start import new_execution

tokens: list[str] = []


@task
async def outside(key: str) -> str:
    tokens.append(task_info().token)
    complete_async()


@workflow
async def waits(key: str) -> str:
    return await outside(key)


@workflow
async def renewed(runs: int) -> str:
    if runs > 1:
        continue_as_new(runs - 1)
    return await outside("last run")


@workflow
async def parent(key: str) -> str:
    handle = await waits.start(key, name=f"{key}-child")
    return await handle.result()


SERVICE = Service.from_definitions("tokens", [outside, waits, renewed, parent])


@pytest.fixture
def engine(clock: ManualClock) -> Engine:
    """An engine on the in-memory backend, with no token handed out yet."""
    tokens.clear()
    return Engine(SERVICE, MemoryBackend(), clock=clock)


async def _waiting(engine: Engine, workflow_name: str, input: str | int, name: str) -> str:
    """Start an execution, settle it, and return the token its open attempt got."""
    await engine.start_execution(workflow_name, input, name)
    await engine.run_until_idle()
    return tokens[-1]


async def _refused(engine: Engine, token: str) -> str:
    """Return the message of the error that completing with ``token`` raises."""
    with pytest.raises(ValidationError) as info:
        await engine.complete_task(token, "forged")
    assert info.value.path == "token"
    return info.value.problem.replace(repr(token[:120]), "<token>")


async def test_the_given_token_finishes_the_attempt(engine: Engine) -> None:
    """The token task_info() gave, four parts long, completes the attempt."""
    token = await _waiting(engine, "waits", "k", "a")
    assert token.startswith("waits/a|1|1|")
    await engine.complete_task(token, "done")
    await engine.run_until_idle()
    assert await engine.execution_result("waits/a") == "done"


async def test_knowing_the_execution_id_is_not_enough(engine: Engine) -> None:
    """The three-part token of an execution started today, or one with a made-up mac, is refused."""
    token = await _waiting(engine, "waits", "k", "a")
    await _refused(engine, "waits/a|1|1")
    await _refused(engine, "waits/a|1|1|" + "A" * 22)
    assert await engine.execution_status("waits/a") is ExecutionStatus.RUNNING
    await engine.complete_task(token, "done")  # the real one still works afterwards


async def test_a_tampered_token_is_refused(engine: Engine) -> None:
    """Changing the attempt, the sequence number, the execution or one mac character fails."""
    token = await _waiting(engine, "waits", "k", "a")
    await _waiting(engine, "waits", "k", "b")
    _, _, mac = token.rpartition("|")
    flipped = ("B" if mac[0] == "A" else "A") + mac[1:]
    for forged in [
        f"waits/a|1|2|{mac}",
        f"waits/a|2|1|{mac}",
        f"waits/b|1|1|{mac}",
        f"waits/a|1|1|{flipped}",
    ]:
        await _refused(engine, forged)
        with pytest.raises(ValidationError):
            await engine.fail_task(forged, "Forged", "by someone else")
    assert await engine.execution_status("waits/a") is ExecutionStatus.RUNNING


async def test_a_wrong_mac_and_a_missing_execution_look_the_same(engine: Engine) -> None:
    """The refusal does not tell whether the execution exists."""
    await _waiting(engine, "waits", "k", "a")
    existing = await _refused(engine, "waits/a|1|1|" + "A" * 22)
    missing = await _refused(engine, "waits/nobody|1|1|" + "A" * 22)
    assert existing == missing
    assert "not a valid task token" in existing


async def test_an_execution_started_before_signing_keeps_its_three_part_tokens(
    engine: Engine, clock: ManualClock
) -> None:
    """An execution without a task key (started by an older version) takes its old tokens."""
    old = new_execution(SERVICE.workflow("waits"), "old", "k", now=clock.now(), task_key=None)
    await engine.backend.executions.create(old.record, old.started, old.timers)
    await engine.run_until_idle()
    assert tokens == ["waits/old|1|1"]
    await _refused(engine, "waits/old|1|1|" + "A" * 22)
    await engine.complete_task("waits/old|1|1", "old style")
    await engine.run_until_idle()
    assert await engine.execution_result("waits/old") == "old style"


async def test_continue_as_new_keeps_the_key(engine: Engine) -> None:
    """Every run of an execution signs with the key of its first, never served or lost."""
    token = await _waiting(engine, "renewed", 3, "r")
    history = await engine.execution_history("renewed/r")
    keys = {e.task_key for e in history if isinstance(e, WorkflowStarted)}
    assert len([e for e in history if isinstance(e, WorkflowStarted)]) == 3
    assert len(keys) == 1
    assert None not in keys
    record = await engine.execution_record("renewed/r")
    assert record.task_key in keys
    await engine.complete_task(token, "renewed")
    await engine.run_until_idle()
    assert await engine.execution_result("renewed/r") == "renewed"


async def test_a_child_signs_with_its_own_key(engine: Engine) -> None:
    """A child's tokens work, and its key is not its parent's."""
    token = await _waiting(engine, "parent", "p", "p")
    assert token.startswith("waits/p-child|1|1|")
    parent_record = await engine.execution_record("parent/p")
    child_record = await engine.execution_record("waits/p-child")
    assert child_record.task_key is not None
    assert child_record.task_key != parent_record.task_key
    await engine.complete_task(token, "from the child")
    await engine.run_until_idle()
    assert await engine.execution_result("parent/p") == "from the child"


async def test_an_ended_execution_still_refuses_forged_tokens(engine: Engine) -> None:
    """Once the attempt is finished, repeating its token is harmless and a forged one refused."""
    token = await _waiting(engine, "waits", "k", "a")
    await engine.complete_task(token, "done")
    await engine.run_until_idle()
    await engine.complete_task(token, "again")  # ignored, as before
    await _refused(engine, "waits/a|1|1")
    assert await engine.execution_result("waits/a") == "done"


async def test_the_key_is_kept_out_of_reprs(engine: Engine) -> None:
    """Printing a record or a history event does not show the key."""
    await _waiting(engine, "waits", "k", "a")
    record = await engine.execution_record("waits/a")
    started = (await engine.execution_history("waits/a"))[0]
    assert record.task_key is not None
    assert record.task_key not in repr(record)
    assert record.task_key not in repr(started)


# --- over HTTP ----------------------------------------------------------------------------


@pytest.fixture
async def http(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the engine's system API, in process."""
    transport = httpx.ASGITransport(app=HttpApp(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def test_the_http_route_answers_400_to_a_forged_token(
    engine: Engine, http: httpx.AsyncClient
) -> None:
    """A guessed or tampered token is a 400 naming body.token, whether the execution exists."""
    token = await _waiting(engine, "waits", "k", "a")
    answers = [
        await http.post("/_eventual/tasks/complete", json={"token": forged, "result": 1})
        for forged in ["waits/a|1|1", "waits/a|1|1|" + "A" * 22, "waits/zz|1|1|" + "A" * 22]
    ]
    assert [a.status_code for a in answers] == [400, 400, 400]
    assert {a.json()["detail"]["path"] for a in answers} == {"body.token"}
    good = await http.post("/_eventual/tasks/complete", json={"token": token, "result": "ok"})
    assert good.status_code == 202
    await engine.run_until_idle()
    assert await engine.execution_result("waits/a") == "ok"


async def test_the_system_api_never_serves_the_key(engine: Engine, http: httpx.AsyncClient) -> None:
    """The record, the listing, the history and the OpenAPI document leave the key out."""
    await _waiting(engine, "waits", "k", "a")
    key = (await engine.execution_record("waits/a")).task_key
    assert key is not None
    served = [
        await http.get("/_eventual/executions/waits/a"),
        await http.get("/_eventual/executions"),
        await http.get("/_eventual/executions/waits/a/history"),
        await http.get("/_eventual/openapi.json"),
    ]
    assert [r.status_code for r in served] == [200, 200, 200, 200]
    for response in served:
        assert key not in response.text
        assert "task_key" not in response.text
