"""Version 1 of the invoicing service: invoices go by post.

``invoice_v1.json`` beside this file was recorded from it. Versions 2 and 3
(``invoicing_v2.py``, ``invoicing_v3.py``) change the workflow with a patch;
the replay tests check that what each version recorded replays on the next.
"""

from __future__ import annotations

from datetime import timedelta

from eventual import sleep, task, workflow


@task
async def charge(amount: int) -> str:
    """Charge ``amount``."""
    return f"charged {amount}"


@task
async def post_invoice(amount: int) -> str:
    """Post an invoice."""
    return f"posted an invoice for {amount}"


@workflow(name="invoice")
async def invoice(amount: int) -> str:
    """Charge, wait a day, then send the invoice."""
    receipt = await charge(amount)
    await sleep(timedelta(days=1))
    sent = await post_invoice(amount)
    return f"{receipt}; {sent}"
