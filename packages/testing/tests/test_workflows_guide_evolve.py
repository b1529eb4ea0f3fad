"""The examples of docs/workflows.md's "Workflows that evolve", on the virtual clock.

The sequel of ``test_workflows_guide.py``, whose last test checks that the
guide's python blocks are verbatim parts of the two modules.
"""

import logging
import sys
from datetime import timedelta

import pytest

from eventual import continue_as_new, logger, patched, sleep, task, workflow
from eventual.history import WorkflowStarted
from eventual_engine import load_service, replay
from eventual_testing import TestEnvironment

SERVICE = sys.modules[__name__]  # the service: here, this very module

# --- versioning with patches ---------------------------------------------------------


@task
async def post_invoice(account: str) -> str:
    return f"posted to {account}"


@task
async def email_invoice(account: str) -> str:
    return f"emailed to {account}"


@workflow
async def send_invoice(account: str) -> str:
    await sleep(timedelta(days=1))
    if patched("email-invoices"):
        return await email_invoice(account)
    return await post_invoice(account)


async def test_new_executions_take_the_patch() -> None:
    """An execution that reaches the check on the new code emails its invoice."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(send_invoice, "acme")
        await env.advance(timedelta(days=1))
        assert await handle.result() == "emailed to acme"
        history = await handle.history()
    assert replay(load_service(SERVICE), history).patches == ("email-invoices",)


# --- continue-as-new -----------------------------------------------------------------


@task
async def send_bill(month: int) -> str:
    return f"bill {month}"


@workflow
async def billing_loop(month: int) -> str:
    bill = await send_bill(month)
    await sleep(timedelta(days=30))
    if month < 12:
        continue_as_new(month + 1)
    return bill


async def test_a_year_of_billing_is_twelve_runs_of_one_execution() -> None:
    """Each month is a run of its own; the execution id and its handle stay the same."""
    async with TestEnvironment(SERVICE) as env:
        handle = await env.start(billing_loop, 1)
        for _ in range(12):
            await env.advance(timedelta(days=30))
        assert await handle.result() == "bill 12"
        history = await handle.history()
    runs = [e for e in history if isinstance(e, WorkflowStarted)]
    assert len(runs) == 12
    assert {e.execution_id for e in runs} == {handle.id}


# --- logging -------------------------------------------------------------------------


@task
async def charge_card(account: str) -> str:
    logger.info("charging %s", account)
    return f"receipt-{account}"


@workflow
async def monthly_charge(account: str) -> str:
    logger.info("charging %s this month", account)
    receipt = await charge_card(account)
    logger.info("charged %s: %s", account, receipt)
    return receipt


async def test_the_logger_tags_lines_and_stays_silent_on_replay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each line is logged once, tagged with the execution id and the call it follows."""
    with caplog.at_level(logging.INFO, logger="eventual.workflow"):
        async with TestEnvironment(SERVICE) as env:
            handle = await env.start(monthly_charge, "acme")
            assert await handle.result() == "receipt-acme"
    lines = [(r.getMessage(), getattr(r, "seq", None)) for r in caplog.records]
    assert lines == [
        ("charging acme this month", 0),
        ("charging acme", 1),
        ("charged acme: receipt-acme", 1),
    ]
    assert {getattr(r, "execution_id", None) for r in caplog.records} == {handle.id}
