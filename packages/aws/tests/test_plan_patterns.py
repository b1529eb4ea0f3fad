"""Tests for subscription rules' EventBridge patterns (``_plan._patterns``)."""

from __future__ import annotations

from typing import Any

import pytest

from eventual_aws import PlanError, plan
from eventual_aws._plan._patterns import rule_pattern

from .conftest import MakePackage


def test_filters_become_the_rule_pattern(make_service: MakePackage) -> None:
    """A subscription on a filtered event and another event gets both patterns, joined by $or."""
    module = make_service(
        """
        import attrs
        from eventual import event, numeric, subscription

        @attrs.frozen
        class Order:
            total: int

        placed = event("Placed", Order)
        cancelled = event("Cancelled", Order)

        @subscription(placed.where(total=numeric(">", 100)), cancelled)
        async def big(order: Order) -> None: ...

        @subscription(placed, cancelled)
        async def every(order: Order) -> None: ...
        """
    )
    rules = {r.subscription: r for r in plan(module).rules}
    assert rules["big"].pattern == {
        "$or": [
            {"detail-type": ["Placed"], "detail": {"total": [{"numeric": [">", 100]}]}},
            {"detail-type": ["Cancelled"]},
        ]
    }
    assert rules["every"].pattern == {"detail-type": ["Cancelled", "Placed"]}


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ([], "has no event pattern"),
        ([{"detail-type": []}], "non-empty lists or objects"),
        ([{"detail-type": "Placed"}], "non-empty lists or objects"),
        ([{"detail-type": [{"regex": "x"}]}], "neither a value nor an EventBridge matcher"),
        ([{"detail-type": ["Placed"], "$or": [{"a": [1]}]}], "at least two patterns"),
        ([{"detail-type": ["P" * 3000]}], "more than the 2048 EventBridge accepts"),
    ],
)
def test_patterns_eventbridge_would_refuse_are_refused(
    patterns: list[dict[str, Any]], message: str
) -> None:
    """A pattern that EventBridge would refuse fails at plan time, naming the subscription."""
    with pytest.raises(PlanError, match=message) as raised:
        rule_pattern(patterns, label="subscription 'audit'")
    assert "subscription 'audit'" in str(raised.value)
