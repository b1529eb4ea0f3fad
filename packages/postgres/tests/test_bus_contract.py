"""eventual-messaging's bus contract, every test, on the PostgreSQL bus."""

from __future__ import annotations

from eventual_messaging.conformance import BusContract


class TestBusContract(BusContract):
    """Each test of the contract with ``bus`` a :class:`PostgresBus` on a fresh schema."""


def test_the_whole_suite_is_collected() -> None:
    """Every test of the contract is a test of the class above, so each runs here."""
    tests = [name for name in dir(TestBusContract) if name.startswith("test_")]
    assert len(tests) >= 24, tests
