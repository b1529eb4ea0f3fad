"""Options of the construct that a CDK user sets per function."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs
from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

__all__ = ["FunctionOptions", "retention"]


@attrs.frozen(kw_only=True)
class FunctionOptions:
    """Overrides of one plan function's settings (``Service(functions={name: ...})``).

    Anything left ``None`` keeps the plan's value. A longer timeout also raises the
    visibility timeout of the queue the function consumes, by the plan's rule (six
    times the timeout), so that a message is not received again while it runs.

    Attributes:
        memory_mb: Memory, in MB (128 to 10,240).
        timeout: How long an invocation may run.
        reserved_concurrency: Reserved concurrent executions.
        environment: Variables added to the plan's (the plan's names cannot be
            replaced: the handlers depend on them).
        architecture: The instruction set; the code is bundled once per
            architecture in use.
    """

    memory_mb: int | None = None
    timeout: Duration | None = None
    reserved_concurrency: int | None = None
    environment: Mapping[str, str] = attrs.field(factory=dict)
    architecture: lambda_.Architecture | None = None


_RETENTION: Final = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
}


def retention(days: int) -> logs.RetentionDays:
    """Return CloudWatch's retention setting for a number of days the plan gives.

    Raises:
        ValueError: CloudWatch Logs offers no such retention.
    """
    try:
        return _RETENTION[days]
    except KeyError:
        offered = ", ".join(str(d) for d in _RETENTION)
        raise ValueError(
            f"the plan asks for {days} days of log retention; CloudWatch offers {offered}: "
            "pass log_retention= to choose one"
        ) from None
