"""Retry policies for tasks and subscriptions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import attrs

__all__ = ["RetryPolicy"]


def _positive(instance: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if value <= timedelta(0):
        raise ValueError(f"RetryPolicy.{attribute.name} must be positive, got {value!r}")


def _error_names(errors: Iterable[str | type[BaseException]]) -> tuple[str, ...]:
    # Stored by name: a task's error crosses processes as its class name.
    return tuple(e if isinstance(e, str) else e.__name__ for e in errors)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how fast a failed task or subscription is tried again.

    Attributes:
        max_attempts: Total attempts including the first; ``None`` means unlimited.
        initial_interval: Wait before the second attempt.
        backoff: Multiplier applied to the wait after each further attempt.
        max_interval: Upper bound of the wait between attempts.
        non_retryable: Exception classes (or class names, ``"ValueError"``) that
            fail at once without another attempt; a subclass of one listed counts
            (``LookupError`` covers ``KeyError``).
    """

    max_attempts: int | None = attrs.field(default=3)
    initial_interval: timedelta = attrs.field(default=timedelta(seconds=1), validator=_positive)
    backoff: float = 2.0
    max_interval: timedelta = attrs.field(default=timedelta(minutes=5), validator=_positive)
    non_retryable: tuple[str, ...] = attrs.field(default=(), converter=_error_names)

    def __attrs_post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(
                f"RetryPolicy.max_attempts must be at least 1, got {self.max_attempts}"
            )
        if self.backoff < 1:
            raise ValueError(f"RetryPolicy.backoff must be at least 1, got {self.backoff}")

    def delay_before(self, attempt: int) -> timedelta:
        """Return the wait before ``attempt`` (2 for the first retry)."""
        seconds = self.initial_interval.total_seconds() * self.backoff ** max(attempt - 2, 0)
        return min(timedelta(seconds=seconds), self.max_interval)

    def should_retry(self, attempt: int, error_type: str, error_bases: Iterable[str] = ()) -> bool:
        """Return whether a failure of ``attempt`` gets another attempt.

        Args:
            attempt: The attempt that failed (1 for the first).
            error_type: The error's class name.
            error_bases: The names of the error's base classes, so that a listed
                class also stops its subclasses.
        """
        if error_type in self.non_retryable or any(
            base in self.non_retryable for base in error_bases
        ):
            return False
        return self.max_attempts is None or attempt < self.max_attempts
