"""Version 2 of the invoicing service: invoices go by email, behind patch ``email``.

``invoice_v2.json`` beside this file was recorded from it. Executions that
version 1 recorded past the patch point keep posting their invoice.
"""

from __future__ import annotations

from datetime import timedelta

from eventual import patched, sleep, task, workflow


@task
async def charge(amount: int) -> str:
    """Charge ``amount``."""
    return f"charged {amount}"


@task
async def post_invoice(amount: int) -> str:
    """Post an invoice."""
    return f"posted an invoice for {amount}"


@task
async def email_invoice(amount: int) -> str:
    """Email an invoice."""
    return f"emailed an invoice for {amount}"


@workflow(name="invoice")
async def invoice(amount: int) -> str:
    """Charge, wait a day, then send the invoice."""
    receipt = await charge(amount)
    await sleep(timedelta(days=1))
    if patched("email"):
        sent = await email_invoice(amount)
    else:
        sent = await post_invoice(amount)
    return f"{receipt}; {sent}"
