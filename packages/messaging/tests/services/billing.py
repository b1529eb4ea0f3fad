"""Billing: publishes InvoicePaid, and receives ParcelShipped from the shipping service.

It does not import shipping: it declares the event it receives by name and type.
"""

from __future__ import annotations

import os

import attrs

from eventual import event, subscription


@attrs.frozen
class InvoicePaid:
    invoice: str
    cents: int


@attrs.frozen
class ParcelShipped:
    parcel: str
    invoice: str


invoice_paid = event("InvoicePaid", InvoicePaid)
parcel_shipped = event("ParcelShipped", ParcelShipped)


@subscription(parcel_shipped)
async def close_invoice(shipped: ParcelShipped) -> None:
    _record(f"billing received ParcelShipped {shipped.parcel} for {shipped.invoice}")


def _record(line: str) -> None:
    with open(os.environ["PEER_LOG"], "a") as log:
        log.write(line + "\n")
