"""The public surface of eventual-aws is pinned."""

from __future__ import annotations

import eventual_aws


def test_all_is_pinned_and_sorted() -> None:
    """__all__ is exactly the expected, sorted list, and every name exists."""
    assert eventual_aws.__all__ == [
        "BucketPlan",
        "Bundle",
        "BundleError",
        "BundleOptions",
        "EventBusPlan",
        "EventSourcePlan",
        "ExpirationPlan",
        "FunctionKind",
        "FunctionPlan",
        "HttpApiPlan",
        "LogGroupPlan",
        "PLAN_VERSION",
        "PlanError",
        "QueuePlan",
        "RedrivePlan",
        "Reference",
        "RolePlan",
        "RoutePlan",
        "RulePlan",
        "ScheduleGroupPlan",
        "SchedulePlan",
        "ScheduleRetryPlan",
        "ServicePlan",
        "SigV4Auth",
        "Simulator",
        "StatementPlan",
        "TableIndexPlan",
        "TablePlan",
        "build_bundle",
        "plan",
        "shards_from_config",
    ]
    assert eventual_aws.__all__ == sorted(eventual_aws.__all__)
    for name in eventual_aws.__all__:
        assert hasattr(eventual_aws, name)
