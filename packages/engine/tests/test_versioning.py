"""Versioning: ``patched`` and ``deprecate_patch`` across recorded histories and live runs.

``eventual_engine.conformance.histories.versions`` holds three versions of one
invoicing service and the histories versions 1 and 2 recorded. Each version must replay what the
previous one recorded; ``EVENTUAL_UPDATE_HISTORIES=1`` re-records the files.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from eventual import (
    DeterminismError,
    RuntimeNotAvailable,
    Service,
    deprecate_patch,
    patched,
    sleep,
    task,
    workflow,
)
from eventual.history import (
    HistoryEvent,
    WorkflowPatched,
    history_event_from_json,
)
from eventual_engine import (
    Engine,
    ManualClock,
    MemoryBackend,
    WorkflowInstance,
    history_to_json,
    replay,
)
from eventual_engine.conformance import histories
from eventual_engine.conformance.histories.versions import invoicing_v1, invoicing_v2, invoicing_v3

VERSIONS = histories.FOLDER / "versions"
START = datetime(2026, 1, 1, tzinfo=UTC)


V1, V2, V3 = (
    Service.load(module, name="invoicing") for module in (invoicing_v1, invoicing_v2, invoicing_v3)
)


def _history(version: int) -> list[HistoryEvent]:
    document = json.loads((VERSIONS / f"invoice_v{version}.json").read_text(encoding="utf-8"))
    return [history_event_from_json(e) for e in document["events"]]


async def _run_invoice(service: Service) -> list[HistoryEvent]:
    clock = ManualClock(START)
    engine = Engine(service, MemoryBackend(), clock=clock)
    id_ = await engine.start_execution("invoice", 40, "recorded")
    await engine.run_until_idle()
    await engine.advance_to(START + timedelta(days=1))
    return await engine.execution_history(id_)


@pytest.mark.skipif(
    not os.environ.get("EVENTUAL_UPDATE_HISTORIES"),
    reason="set EVENTUAL_UPDATE_HISTORIES=1 to re-record the recorded versions",
)
async def test_update_recorded_histories() -> None:
    """Record an invoice under versions 1 and 2 (run on purpose only)."""
    for version, service in ((1, V1), (2, V2)):
        history = await _run_invoice(service)
        document = {
            "workflow": "invoice",
            "events": json.loads(history_to_json("invoice", history))["events"],
        }
        path = VERSIONS / f"invoice_v{version}.json"
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def test_new_code_replays_the_old_branch_of_an_old_history() -> None:
    """Version 2 replays what version 1 recorded: the patch is not taken, the invoice is posted."""
    result = replay(V2, _history(1))
    assert result.ok, result.problem
    assert result.result == "charged 40; posted an invoice for 40"
    assert result.patches == ()


def test_a_history_that_took_the_patch_replays_the_new_branch() -> None:
    """Version 2 replays its own history, which records the patch taken after call 2."""
    history = _history(2)
    markers = [e for e in history if isinstance(e, WorkflowPatched)]
    assert [(m.patch, m.after_seq, m.deprecated) for m in markers] == [("email", 2, False)]
    result = replay(V2, history)
    assert result.ok, result.problem
    assert result.result == "charged 40; emailed an invoice for 40"
    assert result.patches == ("email",)


def test_a_deprecated_patch_replays_histories_that_took_it_only() -> None:
    """Version 3 replays version 2's history; version 1's, past the patch point, diverges."""
    assert replay(V3, _history(2)).ok
    old = replay(V3, _history(1))
    assert not old.ok
    assert old.error_seq == 3
    assert old.recorded_call is not None
    assert "post_invoice" in old.recorded_call


def test_old_code_does_not_replay_a_history_that_took_the_patch() -> None:
    """Rolling back to version 1 is caught: its call differs from the recorded new branch."""
    with pytest.raises(DeterminismError, match="email_invoice"):
        WorkflowInstance.from_history(V1, _history(2))


async def test_an_execution_in_flight_takes_the_patch_when_it_reaches_it() -> None:
    """Started on version 1, continued on version 2 past its timer: the invoice is emailed."""
    clock = ManualClock(START)
    backend = MemoryBackend()
    old = Engine(V1, backend, clock=clock)
    id_ = await old.start_execution("invoice", 7, "in-flight")
    await old.run_until_idle()
    new = Engine(V2, backend, clock=clock)
    await new.advance_to(START + timedelta(days=1))
    record = await new.execution_record(id_)
    assert record.result == "charged 7; emailed an invoice for 7"
    history = await new.execution_history(id_)
    assert replay(V2, history).patches == ("email",)


async def test_a_fresh_execution_takes_a_patch_checked_before_any_call() -> None:
    """A check at the top of a workflow is True for a new execution, and recorded after call 0."""
    ran: list[bool] = []

    @workflow(name="top")
    async def top(_: None) -> bool:
        ran.append(patched("first"))
        return ran[-1]

    service = Service.from_definitions("top", [top])
    engine = Engine(service, MemoryBackend(), clock=ManualClock(START))
    id_ = await engine.start_execution("top", None, "one")
    await engine.run_until_idle()
    history = await engine.execution_history(id_)
    assert ran == [True]
    assert [(e.patch, e.after_seq) for e in history if isinstance(e, WorkflowPatched)] == [
        ("first", 0)
    ]
    assert replay(service, history).result is True


@task
async def step(n: int) -> int:
    return n


async def test_a_check_in_a_loop_replays_as_it_ran() -> None:
    """A patch first taken in the third iteration stays untaken in the first two on replay."""

    @workflow(name="loop")
    async def before(_: None) -> list[str]:
        for n in range(3):
            await sleep(timedelta(hours=1))
            await step(n)
        return []

    @workflow(name="loop")
    async def after(_: None) -> list[str]:
        taken: list[str] = []
        for n in range(3):
            await sleep(timedelta(hours=1))
            taken.append("new" if patched("loop") else "old")
            await step(n)
        return taken

    clock = ManualClock(START)
    backend = MemoryBackend()
    old = Engine(Service.from_definitions("loop", [before, step]), backend, clock=clock)
    id_ = await old.start_execution("loop", None, "l")
    await old.advance_to(START + timedelta(hours=2))
    new_service = Service.from_definitions("loop", [after, step])
    new = Engine(new_service, backend, clock=clock)
    await new.advance_to(START + timedelta(hours=3))
    record = await new.execution_record(id_)
    assert record.result == ["old", "old", "new"]
    replayed = replay(new_service, await new.execution_history(id_))
    assert replayed.ok, replayed.problem
    assert replayed.result == ["old", "old", "new"]


async def test_a_deprecated_patch_is_recorded_for_new_executions() -> None:
    """deprecate_patch writes a marker flagged deprecated, so histories say what ran."""
    history = await _run_invoice(V3)
    markers = [e for e in history if isinstance(e, WorkflowPatched)]
    assert [(m.patch, m.deprecated) for m in markers] == [("email", True)]
    assert replay(V3, history).patches == ("email",)


def test_patch_checks_outside_a_workflow_and_empty_ids_are_refused() -> None:
    """Outside a workflow both calls raise RuntimeNotAvailable; an empty id is a ValueError."""
    with pytest.raises(RuntimeNotAvailable, match="inside a workflow"):
        patched("email")
    with pytest.raises(RuntimeNotAvailable, match="inside a workflow"):
        deprecate_patch("email")
    with pytest.raises(ValueError, match="non-empty patch id"):
        patched("")
