"""The public surface of eventual-aws-cdk is pinned."""

from __future__ import annotations

import eventual_aws_cdk


def test_all_is_pinned_and_sorted() -> None:
    """__all__ is exactly the expected, sorted list, and every name exists."""
    assert eventual_aws_cdk.__all__ == [
        "BundleError",
        "BundleOptions",
        "FunctionOptions",
        "Service",
    ]
    assert eventual_aws_cdk.__all__ == sorted(eventual_aws_cdk.__all__)
    for name in eventual_aws_cdk.__all__:
        assert hasattr(eventual_aws_cdk, name)
