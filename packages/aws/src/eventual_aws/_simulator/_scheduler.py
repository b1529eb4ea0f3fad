"""EventBridge Scheduler's one-time schedules, fired when due.

Local endpoints store schedules but never run them. This poller lists the
schedule group's schedules, and when a one-time schedule's ``at(...)`` time has
come (in its time zone) invokes its target, the forwarder function, with the
schedule's ``Input`` as the event, as Scheduler invokes a Lambda target. A
schedule with ``ActionAfterCompletion=DELETE`` is deleted after it ran. A
failed invocation is tried again with a growing pause up to the target's
``RetryPolicy.MaximumRetryAttempts`` (Scheduler's default: 185), then its input
goes to the target's dead-letter queue. Recurring schedules (``rate``,
``cron``) are not run.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError

from .._backend._clients import Clients
from .._plan import FunctionPlan
from ._functions import Crashed, Invoker

__all__ = ["SchedulePoller", "due_time"]

log = logging.getLogger("eventual.aws.simulator")

_DEFAULT_RETRIES = 185


def due_time(expression: str, zone: str | None) -> datetime | None:
    """Return when a one-time schedule (``at(yyyy-mm-ddThh:mm:ss)``) is due, or None for others."""
    if not (expression.startswith("at(") and expression.endswith(")")):
        return None
    local = datetime.fromisoformat(expression[3:-1])
    return local.replace(tzinfo=ZoneInfo(zone or "UTC")).astimezone(UTC)


class SchedulePoller:
    """Fires a schedule group's due one-time schedules at the forwarder.

    Args:
        clients: boto3 clients on the endpoint.
        invoker: Runs the forwarder.
        group: The schedule group's name.
        targets: The functions schedules may target, by ARN.
        now: The current time (the engine's clock, so a test moving it moves schedules too).
        interval: Seconds between looks at the group.
    """

    def __init__(
        self,
        clients: Clients,
        invoker: Invoker,
        group: str,
        targets: Mapping[str, FunctionPlan],
        now: Callable[[], datetime],
        *,
        interval: float = 0.5,
    ) -> None:
        self._clients = clients
        self._invoker = invoker
        self._group = group
        self._targets = targets
        self._now = now
        self._interval = interval
        self._details: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, tuple[int, datetime]] = {}
        self.fired = 0

    async def run(self) -> None:
        """Look at the group every ``interval`` seconds until cancelled."""
        while True:
            try:
                await self.fire_due()
            except Exception as error:
                log.warning("firing schedules of %s failed: %r", self._group, error)
            await asyncio.sleep(self._interval)

    async def fire_due(self) -> int:
        """Fire every one-time schedule that is due now; return how many ran."""
        scheduler = self._clients.scheduler
        names: list[str] = []
        token: str | None = None
        while True:
            page = await self._clients.call(
                scheduler.list_schedules,
                GroupName=self._group,
                **({"NextToken": token} if token else {}),
            )
            names += [
                s["Name"]
                for s in page.get("Schedules", [])
                if s.get("State", "ENABLED") == "ENABLED"
            ]
            token = page.get("NextToken")
            if not token:
                break
        for gone in set(self._details) - set(names):
            self._details.pop(gone, None)
        fired = 0
        for name in names:
            detail = await self._detail(name)
            if detail is None:
                continue
            due = due_time(detail["ScheduleExpression"], detail.get("ScheduleExpressionTimezone"))
            now = self._now()
            retry = self._failures.get(name)
            if due is None or due > now or (retry is not None and retry[1] > now):
                continue
            if await self._fire(name, detail):
                fired += 1
        self.fired += fired
        return fired

    async def _detail(self, name: str) -> dict[str, Any] | None:
        if name not in self._details:
            try:
                found = await self._clients.call(
                    self._clients.scheduler.get_schedule, Name=name, GroupName=self._group
                )
            except ClientError:
                return None  # deleted in between
            self._details[name] = dict(found)
        return self._details[name]

    async def _fire(self, name: str, detail: Mapping[str, Any]) -> bool:
        target = detail.get("Target") or {}
        function = self._targets.get(str(target.get("Arn")))
        if function is None:
            log.warning(
                "schedule %s targets %s, which the plan does not run", name, target.get("Arn")
            )
            return False
        raw = target.get("Input") or "{}"
        try:
            event = json.loads(raw)
        except ValueError:
            event = raw
        try:
            await self._invoker.invoke(function, event)
        except Crashed as crash:
            await self._failed(name, detail, raw, crash)
            return False
        self._failures.pop(name, None)
        await self._completed(name, detail)
        return True

    async def _completed(self, name: str, detail: Mapping[str, Any]) -> None:
        if detail.get("ActionAfterCompletion") == "DELETE":
            try:
                await self._clients.call(
                    self._clients.scheduler.delete_schedule, Name=name, GroupName=self._group
                )
            except ClientError as error:
                log.info("schedule %s was gone already: %r", name, error)
        self._details.pop(name, None)

    async def _failed(self, name: str, detail: Mapping[str, Any], raw: str, crash: Crashed) -> None:
        target = detail.get("Target") or {}
        policy = target.get("RetryPolicy") or {}
        allowed = int(policy.get("MaximumRetryAttempts", _DEFAULT_RETRIES))
        attempts = self._failures.get(name, (0, self._now()))[0] + 1
        if attempts <= allowed:
            pause = timedelta(seconds=min(60.0, 0.5 * 2 ** (attempts - 1)))
            self._failures[name] = (attempts, self._now() + pause)
            log.info("schedule %s: %s; trying again in %s", name, crash, pause)
            return
        self._failures.pop(name, None)
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter:
            queue = str(dead_letter).rsplit(":", 1)[-1]
            url = (await self._clients.call(self._clients.sqs.get_queue_url, QueueName=queue))[
                "QueueUrl"
            ]
            await self._clients.call(self._clients.sqs.send_message, QueueUrl=url, MessageBody=raw)
        log.warning("schedule %s failed %d times; its input is dead-lettered", name, attempts)
        await self._completed(name, detail)
