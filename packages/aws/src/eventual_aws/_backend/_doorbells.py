"""Doorbells: after a commit, tell the function that has work to look at the table.

A doorbell carries no state the engine depends on (docs/aws.md): a duplicate
finds nothing to claim, and a lost one is rung again from the bells the
execution's record keeps until its next commit. So a ring that still fails after
retries is logged, never raised: the commit it follows is durable.

- ``workflow``: the FIFO queue, message group = execution id, deduplication id =
  the message id (each hashed when longer than SQS's 128 characters).
- ``task``: the task's standard queue ``<prefix>-task-<task>``, delayed by the
  attempt's back-off (at most 15 minutes; a task woken early is not ready to
  claim, and its function rings again with the rest of the delay).
- ``timer``: the standard timer queue delayed until the timer is due when that
  is within 15 minutes, else a one-time EventBridge Scheduler schedule at the
  due time that deletes itself after it ran and invokes the forwarder.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal

import attrs
from botocore.exceptions import ClientError

from .._plan._names import queue_name
from ._clients import Clients
from ._config import AwsBackendConfig
from ._items import dump_json

__all__ = ["MAX_DELAY", "Bell", "Doorbells", "task_queue_name"]

log = logging.getLogger("eventual.aws")

MAX_DELAY: Final = 900
"""SQS's longest message delay, in seconds."""
_KINDS: Final[dict[str, Literal["workflow", "task", "timer"]]] = {
    "workflow": "workflow",
    "task": "task",
    "timer": "timer",
}
_BATCH: Final = 10
_ATTEMPTS: Final = 3


@attrs.frozen(kw_only=True)
class Bell:
    """One doorbell to ring.

    Attributes:
        kind: Which function it wakes.
        target: The execution id (workflow), the task's name (task), or the timer id.
        id: What to look for: the message id, the task token or the timer id.
        due: When the work is ready (tasks with back-off, timers), or None for now.
    """

    kind: Literal["workflow", "task", "timer"]
    target: str
    id: str
    due: datetime | None = None

    def to_json(self) -> list[str]:
        """Return the bell as a compact JSON list (kept on the execution's record)."""
        return [self.kind, self.target, self.id, self.due.isoformat() if self.due else ""]

    @classmethod
    def from_json(cls, data: list[str]) -> Bell:
        """Read a bell written by :meth:`to_json`."""
        kind, target, id_, due = data
        return cls(
            kind=_KINDS[kind],
            target=target,
            id=id_,
            due=datetime.fromisoformat(due) if due else None,
        )


def task_queue_name(prefix: str, task: str) -> str:
    """Return the name of a task's queue, as the plan names it (``<prefix>-task-<task>``)."""
    return queue_name(prefix, f"task-{task}")


def _fifo_id(value: str) -> str:
    # Group and deduplication ids take at most 128 characters.
    if len(value) <= 128:
        return value
    return hashlib.sha256(value.encode()).hexdigest()


def _schedule_name(timer_id: str) -> str:
    # Names allow [0-9a-zA-Z-_.], 64 characters at most.
    return "t-" + hashlib.sha256(timer_id.encode()).hexdigest()[:56]


class Doorbells:
    """Rings the configured queues and schedules; a resource left unconfigured is skipped."""

    def __init__(self, clients: Clients, config: AwsBackendConfig) -> None:
        self._clients = clients
        self._config = config
        base = config.workflow_queue_url
        self._queues_url = base.rsplit("/", 1)[0] if base else None

    @property
    def enabled(self) -> bool:
        """Whether any doorbell is configured."""
        return bool(self._config.workflow_queue_url or self._config.timer_queue_url)

    async def ring(self, bells: Sequence[Bell], now: datetime) -> None:
        """Ring every bell, batching sends per queue (10 entries per request)."""
        if not bells or not self.enabled:
            return
        sends: dict[str, list[dict[str, Any]]] = defaultdict(list)
        schedules: list[Bell] = []
        for bell in bells:
            delay = 0 if bell.due is None else math.ceil((bell.due - now).total_seconds())
            delay = max(delay, 0)
            if bell.kind == "workflow":
                if self._config.workflow_queue_url is None:
                    continue
                sends[self._config.workflow_queue_url].append(
                    {
                        "MessageBody": dump_json({"execution_id": bell.target, "id": bell.id}),
                        "MessageGroupId": _fifo_id(bell.target),
                        "MessageDeduplicationId": _fifo_id(bell.id),
                    }
                )
            elif bell.kind == "task":
                if self._queues_url is None or self._config.queue_prefix is None:
                    continue
                url = (
                    f"{self._queues_url}/{task_queue_name(self._config.queue_prefix, bell.target)}"
                )
                body = dump_json({"token": bell.id})
                sends[url].append({"MessageBody": body, "DelaySeconds": min(delay, MAX_DELAY)})
            elif delay > MAX_DELAY and self._config.forwarder_arn is not None:
                schedules.append(bell)
            elif self._config.timer_queue_url is not None:
                body = dump_json({"timer_id": bell.id})
                entry = {"MessageBody": body, "DelaySeconds": min(delay, MAX_DELAY)}
                sends[self._config.timer_queue_url].append(entry)
        await asyncio.gather(
            *(self._send(url, entries) for url, entries in sends.items()),
            *(self._schedule(bell) for bell in schedules),
        )

    async def _send(self, url: str, entries: list[dict[str, Any]]) -> None:
        for first in range(0, len(entries), _BATCH):
            batch = {str(i): entry for i, entry in enumerate(entries[first : first + _BATCH])}
            for attempt in range(_ATTEMPTS):
                try:
                    answer = await self._clients.call(
                        self._clients.sqs.send_message_batch,
                        QueueUrl=url,
                        Entries=[{"Id": id_, **entry} for id_, entry in batch.items()],
                    )
                except ClientError as error:
                    log.warning("eventual could not ring %s: %s (attempt %d)", url, error, attempt)
                    await asyncio.sleep(0.05 * 2**attempt)
                    continue
                failed = answer.get("Failed", [])
                # Sender faults (a malformed entry) fail the same way again.
                for entry in failed:
                    if entry.get("SenderFault"):
                        log.warning("eventual doorbell refused by %s: %s", url, entry)
                batch = {
                    entry["Id"]: batch[entry["Id"]]
                    for entry in failed
                    if not entry.get("SenderFault")
                }
                if not batch:
                    break
                await asyncio.sleep(0.05 * 2**attempt)
            else:
                log.warning("eventual left %d doorbells of %s unrung", len(batch), url)

    async def _schedule(self, bell: Bell) -> None:
        assert bell.due is not None
        config = self._config
        target: dict[str, Any] = {
            "Arn": config.forwarder_arn,
            "RoleArn": config.scheduler_role_arn,
            "Input": dump_json({"timer_id": bell.id, "due": bell.due.isoformat()}),
        }
        if config.forwarder_dlq_arn:
            target["DeadLetterConfig"] = {"Arn": config.forwarder_dlq_arn}
        options: dict[str, Any] = {}
        if config.schedule_group:
            options["GroupName"] = config.schedule_group
        at = bell.due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        try:
            await self._clients.call(
                self._clients.scheduler.create_schedule,
                Name=_schedule_name(bell.id),
                ScheduleExpression=f"at({at})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target=target,
                **options,
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code != "ConflictException":  # scheduled already: the same timer
                log.warning("eventual could not schedule timer %s: %s", bell.id, error)
