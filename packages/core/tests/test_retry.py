"""Retry policies: validation and back-off."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventual import RetryPolicy
from eventual.history import error_bases


def test_backoff_grows_and_is_capped() -> None:
    """The wait doubles per attempt (by default) and never exceeds max_interval."""
    policy = RetryPolicy(
        max_attempts=10, initial_interval=timedelta(seconds=1), max_interval=timedelta(seconds=5)
    )
    waits = [policy.delay_before(attempt).total_seconds() for attempt in range(2, 7)]
    assert waits == [1, 2, 4, 5, 5]


def test_should_retry() -> None:
    """Attempts stop at max_attempts and at non-retryable errors (by class or name)."""
    policy = RetryPolicy(max_attempts=3, non_retryable=(KeyError, "PermissionError"))
    assert policy.non_retryable == ("KeyError", "PermissionError")
    assert policy.should_retry(1, "ValueError")
    assert policy.should_retry(2, "ValueError")
    assert not policy.should_retry(3, "ValueError")
    assert not policy.should_retry(1, "KeyError")
    assert not policy.should_retry(1, "PermissionError")
    assert RetryPolicy(max_attempts=None).should_retry(1000, "ValueError")


def test_non_retryable_covers_subclasses() -> None:
    """A listed class also stops its subclasses, when the error's bases are known."""
    policy = RetryPolicy(non_retryable=(LookupError,))
    assert not policy.should_retry(1, "KeyError", error_bases(KeyError))
    assert policy.should_retry(1, "ValueError", error_bases(ValueError))
    assert policy.should_retry(1, "KeyError")  # bases unknown: the name alone decides
    assert error_bases(KeyError) == ["LookupError", "Exception", "BaseException"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"backoff": 0.5}, "backoff"),
        ({"initial_interval": timedelta(0)}, "initial_interval"),
    ],
)
def test_invalid_policies(options: dict[str, object], message: str) -> None:
    """Nonsensical settings are rejected with the field named."""
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**options)  # type: ignore[arg-type]
