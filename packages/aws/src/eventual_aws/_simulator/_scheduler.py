"""EventBridge Scheduler's schedules, run on the simulator's clock.

Local endpoints store schedules but never run them. This poller lists the
schedule group's enabled schedules and invokes a schedule's target, the
forwarder function, when it is due, with the schedule's ``Input`` as the event,
as Scheduler invokes a Lambda target:

- a one-time schedule (``at(...)``) once its time has come in its time zone;
  with ``ActionAfterCompletion=DELETE`` it is deleted after it ran;
- a recurring schedule (``rate(...)``, ``cron(...)``, read by
  :mod:`._recurring`) at each of its times, with Scheduler's context attributes
  (``<aws.scheduler.scheduled-time>``, ...) replaced in the input. A rate runs
  from the schedule's start date, else from when it was created or last
  updated; a cron's first time is the first after that. When the clock
  moves past several times at once (a test moving it ahead), the latest is
  invoked and the ones before are skipped, as after an outage: what runs for
  them is the engine's catch-up policy's to decide.

A failed invocation is tried again with a growing pause up to the target's
``RetryPolicy.MaximumRetryAttempts`` (Scheduler's default: 185), then its input
goes to the target's dead-letter queue. With ``duplicate_deliveries`` every
invocation is made twice, as Scheduler's at-least-once delivery allows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from botocore.exceptions import ClientError

from .._backend._clients import Clients
from .._plan import FunctionPlan
from ._functions import Crashed, Invoker
from ._recurring import Recurrence, UnsupportedExpression, latest_due, recurrence

__all__ = ["SchedulePoller"]

log = logging.getLogger("eventual.aws.simulator")

_DEFAULT_RETRIES = 185


@attrs.define
class _Schedule:
    """What the poller knows of one schedule."""

    detail: dict[str, Any]
    when: Recurrence
    recurring: bool
    last: datetime  # the last time handled (run, skipped or dead-lettered)
    pending: datetime | None = None  # a time being retried
    attempts: int = 0
    retry_at: datetime | None = None


class SchedulePoller:
    """Fires a schedule group's due schedules at the forwarder.

    Args:
        clients: boto3 clients on the endpoint.
        invoker: Runs the forwarder.
        group: The schedule group's name.
        targets: The functions schedules may target, by ARN.
        now: The current time (the engine's clock, so a test moving it moves schedules too).
        interval: Seconds between looks at the group.
        duplicate_deliveries: Invoke the target twice for each time.
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
        duplicate_deliveries: bool = False,
    ) -> None:
        self._clients = clients
        self._invoker = invoker
        self._group = group
        self._targets = targets
        self._now = now
        self._interval = interval
        self._duplicates = duplicate_deliveries
        self._known: dict[str, _Schedule] = {}
        self._refused: set[str] = set()
        self._lock = asyncio.Lock()
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
        """Invoke the target of every schedule that is due now; return how many ran."""
        async with self._lock:  # settle() and the polling loop never fire one time twice
            names = await self._enabled()
            for gone in set(self._known) - set(names):
                del self._known[gone]
            fired = 0
            for name in names:
                schedule = await self._schedule(name)
                if schedule is not None and await self._fire_if_due(name, schedule):
                    fired += 1
            self.fired += fired
            return fired

    async def _enabled(self) -> list[str]:
        names: list[str] = []
        token: str | None = None
        while True:
            page = await self._clients.call(
                self._clients.scheduler.list_schedules,
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
                return names

    async def _schedule(self, name: str) -> _Schedule | None:
        if name in self._known:
            return self._known[name]
        try:
            found = await self._clients.call(
                self._clients.scheduler.get_schedule, Name=name, GroupName=self._group
            )
        except ClientError:
            return None  # deleted in between
        detail = dict(found)
        expression = str(detail.get("ScheduleExpression", ""))
        # A schedule counts from when it was created or last changed (provisioning
        # again updates it), else from now; a rate from its start date if it has one.
        changed = detail.get("LastModificationDate") or detail.get("CreationDate")
        since = changed.astimezone(UTC) if isinstance(changed, datetime) else self._now()
        start, zone = detail.get("StartDate"), detail.get("ScheduleExpressionTimezone")
        try:
            when = recurrence(
                expression,
                zone if isinstance(zone, str) else None,
                start=start.astimezone(UTC) if isinstance(start, datetime) else since,
            )
        except (UnsupportedExpression, ValueError) as error:
            if name not in self._refused:
                self._refused.add(name)
                log.warning("schedule %s is not run by the simulator: %s", name, error)
            return None
        recurring = not expression.startswith("at(")
        # A rate runs from its start; a cron from its first time after ``since``.
        last = datetime.min.replace(tzinfo=UTC) if not recurring else since
        if recurring and expression.startswith("rate("):
            last = when.next_after(datetime.min.replace(tzinfo=UTC)) or since
            last -= timedelta(microseconds=1)
        self._known[name] = schedule = _Schedule(
            detail=detail, when=when, recurring=recurring, last=last
        )
        return schedule

    async def _fire_if_due(self, name: str, schedule: _Schedule) -> bool:
        now = self._now()
        if schedule.retry_at is not None and schedule.retry_at > now:
            return False
        due = schedule.pending or latest_due(schedule.when, schedule.last, now)
        if due is None:
            return False
        target = schedule.detail.get("Target") or {}
        function = self._targets.get(str(target.get("Arn")))
        if function is None:
            log.warning(
                "schedule %s targets %s, which the plan does not run", name, target.get("Arn")
            )
            return False
        raw = _input(schedule, due, schedule.attempts + 1)
        try:
            event = json.loads(raw)
        except ValueError:
            event = raw
        try:
            for _ in range(2 if self._duplicates else 1):
                await self._invoker.invoke(function, event)
        except Crashed as crash:
            await self._failed(name, schedule, due, raw, crash)
            return False
        await self._done(name, schedule, due)
        return True

    async def _done(self, name: str, schedule: _Schedule, due: datetime) -> None:
        schedule.last, schedule.pending, schedule.attempts, schedule.retry_at = due, None, 0, None
        if schedule.recurring:
            return
        if schedule.detail.get("ActionAfterCompletion") == "DELETE":
            try:
                await self._clients.call(
                    self._clients.scheduler.delete_schedule, Name=name, GroupName=self._group
                )
            except ClientError as error:
                log.info("schedule %s was gone already: %r", name, error)
        self._known.pop(name, None)

    async def _failed(
        self, name: str, schedule: _Schedule, due: datetime, raw: str, crash: Crashed
    ) -> None:
        target = schedule.detail.get("Target") or {}
        policy = target.get("RetryPolicy") or {}
        allowed = int(policy.get("MaximumRetryAttempts", _DEFAULT_RETRIES))
        schedule.attempts += 1
        if schedule.attempts <= allowed:
            pause = timedelta(seconds=min(60.0, 0.5 * 2 ** (schedule.attempts - 1)))
            schedule.pending, schedule.retry_at = due, self._now() + pause
            log.info("schedule %s: %s; trying again in %s", name, crash, pause)
            return
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter:
            queue = str(dead_letter).rsplit(":", 1)[-1]
            url = (await self._clients.call(self._clients.sqs.get_queue_url, QueueName=queue))[
                "QueueUrl"
            ]
            await self._clients.call(self._clients.sqs.send_message, QueueUrl=url, MessageBody=raw)
        log.warning(
            "schedule %s failed %d times; its input is dead-lettered", name, schedule.attempts
        )
        await self._done(name, schedule, due)


def _input(schedule: _Schedule, due: datetime, attempt: int) -> str:
    """The target's input with Scheduler's context attributes filled in."""
    raw = str((schedule.detail.get("Target") or {}).get("Input") or "{}")
    if not schedule.recurring:
        return raw
    attributes = {
        "<aws.scheduler.scheduled-time>": due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "<aws.scheduler.attempt-number>": str(attempt),
        "<aws.scheduler.execution-id>": str(uuid.uuid4()),
        "<aws.scheduler.schedule-arn>": str(schedule.detail.get("Arn", "")),
    }
    for attribute, value in attributes.items():
        raw = raw.replace(attribute, value)
    return raw
