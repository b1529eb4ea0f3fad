"""Version 3 of the invoicing service: the post branch is gone (``deprecate_patch``).

It replays what version 2 recorded; what version 1 recorded past the patch point
no longer replays, which is why a patch is deprecated only once no such
execution runs.
"""

from __future__ import annotations

from datetime import timedelta

from eventual import deprecate_patch, sleep, task, workflow


@task
async def charge(amount: int) -> str:
    """Charge ``amount``."""
    return f"charged {amount}"


@task
async def email_invoice(amount: int) -> str:
    """Email an invoice."""
    return f"emailed an invoice for {amount}"


@workflow(name="invoice")
async def invoice(amount: int) -> str:
    """Charge, wait a day, then send the invoice."""
    receipt = await charge(amount)
    await sleep(timedelta(days=1))
    deprecate_patch("email")
    sent = await email_invoice(amount)
    return f"{receipt}; {sent}"
