"""Fixtures of the orders example's tests.

The ``eventual_env`` fixture comes from eventual-testing's pytest plugin; it runs
``orders.service`` because ``pyproject.toml`` names it in ``[tool.eventual]``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from orders import service


@pytest.fixture(autouse=True)
def fresh_stock() -> Iterator[None]:
    """Give each test the initial stock and an empty audit log (they are module-level)."""
    stock = dict(service.STOCK)
    service.AUDIT_LOG.clear()
    yield
    service.STOCK.clear()
    service.STOCK.update(stock)
    service.AUDIT_LOG.clear()
