"""The bus contract (``eventual_messaging.conformance``) on the memory and SQLite buses."""

from __future__ import annotations

from eventual_messaging.conformance import BusContract


class TestBusContract(BusContract):
    """Every test of the contract, on each bus of the ``bus`` fixture."""
