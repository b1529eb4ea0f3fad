"""Shipping: publishes ParcelShipped, and receives paid invoices from the billing service.

It does not import billing: it declares the event it receives by name and type,
with only the fields it needs, and filters out zero-amount invoices.
"""

from __future__ import annotations

import os

import attrs

from eventual import event, numeric, subscription


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


@subscription(invoice_paid.where(cents=numeric(">", 0)))
async def ship(paid: InvoicePaid) -> None:
    _record(f"shipping received InvoicePaid {paid.invoice}")
    await parcel_shipped.publish(ParcelShipped(parcel=f"p-{paid.invoice}", invoice=paid.invoice))


def _record(line: str) -> None:
    with open(os.environ["PEER_LOG"], "a") as log:
        log.write(line + "\n")
