"""The public surface of eventual-aws is pinned."""

from __future__ import annotations

import subprocess
import sys

import eventual_aws
import eventual_aws.testing


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


def test_testing_all_is_pinned_and_importable_without_httpx_or_uvicorn() -> None:
    """eventual_aws.testing exports exactly its gateway and imports neither httpx nor uvicorn."""
    assert eventual_aws.testing.__all__ == ["ForwardRequest", "SigV4Gateway", "sigv4_refusal"]
    for name in eventual_aws.testing.__all__:
        assert hasattr(eventual_aws.testing, name)
    check = (
        "import sys, eventual_aws.testing; "
        "print(sorted(m for m in ('httpx', 'uvicorn', 'pytest') if m in sys.modules))"
    )
    shown = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert shown.stdout.strip() == "[]", shown.stderr
