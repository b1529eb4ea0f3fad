"""``plan()``: from a service's manifest to its :class:`ServicePlan`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import ModuleType
from typing import Final

from eventual import Service

from ._access import SHARDS, environment, statements
from ._function import EventSourcePlan, FunctionKind, FunctionPlan
from ._manifest import Handler, Manifest, read_manifest
from ._names import (
    SCHEDULE_GROUP_NAME_LIMIT,
    PlanError,
    check_prefix,
    function_name,
    queue_name,
    rule_name,
    shorten,
)
from ._patterns import rule_pattern
from ._resources import (
    BucketPlan,
    EventBusPlan,
    ExpirationPlan,
    HttpApiPlan,
    LogGroupPlan,
    QueuePlan,
    RedrivePlan,
    RolePlan,
    RulePlan,
    ScheduleGroupPlan,
    StatementPlan,
    TableIndexPlan,
    TablePlan,
)
from ._routes import routes
from ._schedules import schedule_plan, with_scheduler_tasks
from ._service_plan import ServicePlan

__all__ = ["LAMBDA_TIMEOUT_LIMIT_S", "TASK_TIMEOUT_MARGIN_S", "plan"]

LAMBDA_TIMEOUT_LIMIT_S: Final = 900
"""The longest a Lambda function may run."""
TASK_TIMEOUT_MARGIN_S: Final = 10
"""Added to a task's timeout: the handler claims the attempt before and records its end after."""
MEMORY_RANGE_MB: Final = (128, 10240)
"""Lambda's memory sizes."""
VISIBILITY_FACTOR: Final = 6
"""AWS advises a queue's visibility timeout of at least six times its consumer's timeout."""
VISIBILITY_LIMIT_S: Final = 43200
"""SQS's longest visibility timeout (12 hours)."""
RETENTION_S: Final = 4 * 24 * 3600
"""A doorbell queue keeps a message 4 days (SQS's default)."""
DEAD_LETTER_RETENTION_S: Final = 14 * 24 * 3600
"""A dead-letter queue keeps a message 14 days, SQS's longest (a standard queue's dead
letter keeps its first enqueue time, so it must outlive its source's retention)."""
MAX_RECEIVE_COUNT: Final = 5
"""Receives before a doorbell goes to its dead-letter queue (a handler failing again and again)."""
LOG_RETENTION_DAYS: Final = 30
STEP_REMAINDER_DAYS: Final = (RETENTION_S + DEAD_LETTER_RETENTION_S) // (24 * 3600) + 1
"""How long the remainder of a split step is kept: past the last doorbell that could apply it
(kept in its queue, then in the dead-letter queue, then in the queue again after a redrive)."""

# (memory in MB, timeout in seconds) of each kind when the definition sets neither.
DEFAULTS: Final[dict[FunctionKind, tuple[int, int]]] = {
    "orchestrator": (512, 60),
    "timer": (256, 30),
    "forwarder": (128, 30),
    "api": (512, 30),
    "task": (512, LAMBDA_TIMEOUT_LIMIT_S),
    "subscription": (512, 60),
}
# (batch size, batching window in seconds, report batch item failures) per consumer kind.
BATCHING: Final[dict[FunctionKind, tuple[int, int, bool]]] = {
    "orchestrator": (10, 0, True),  # FIFO: at most 10, no window
    "timer": (10, 0, True),
    "task": (1, 0, True),  # one attempt per invocation: its own timeout
    "subscription": (10, 0, True),
}
TABLE: Final = TablePlan(
    partition_key="pk",
    sort_key="sk",
    indexes=(
        TableIndexPlan(name="gsi1", partition_key="gsi1pk", sort_key="gsi1sk"),
        TableIndexPlan(name="gsi2", partition_key="gsi2pk", sort_key="gsi2sk"),
    ),
    ttl_attribute="ttl",
)


def _memory(handler: Handler, kind: FunctionKind) -> int:
    if handler.memory_mb is None:
        return DEFAULTS[kind][0]
    low, high = MEMORY_RANGE_MB
    if not low <= handler.memory_mb <= high:
        raise PlanError(
            f"{handler.label} asks for memory={handler.memory_mb} MB; Lambda offers "
            f"{low} to {high} MB"
        )
    return handler.memory_mb


def _concurrency(handler: Handler) -> int | None:
    if handler.concurrency is not None and handler.concurrency < 1:
        raise PlanError(
            f"{handler.label}: concurrency must be at least 1, not {handler.concurrency}"
        )
    return handler.concurrency


def _task_timeout(task: Handler) -> int:
    if task.timeout_s is None:
        return LAMBDA_TIMEOUT_LIMIT_S
    seconds = math.ceil(task.timeout_s) + TASK_TIMEOUT_MARGIN_S
    if seconds > LAMBDA_TIMEOUT_LIMIT_S:
        longest = LAMBDA_TIMEOUT_LIMIT_S - TASK_TIMEOUT_MARGIN_S
        raise PlanError(
            f"{task.label} has timeout={task.timeout_s:g} s, but an attempt runs in one Lambda "
            f"invocation, at most {LAMBDA_TIMEOUT_LIMIT_S} s: give it a timeout of at most "
            f"{longest} s (split longer work into several tasks, or finish it with "
            "complete_async() and complete_task())"
        )
    return seconds


def _timeout(handler: Handler, kind: FunctionKind, limit: int, why: str) -> int:
    if handler.timeout_s is None:
        return DEFAULTS[kind][1]
    seconds = math.ceil(handler.timeout_s)
    if seconds > limit:
        raise PlanError(f"{handler.label} has timeout={handler.timeout_s:g} s; {why} ({limit} s)")
    return seconds


class _Builder:
    """Builds the plan of one manifest, checking names as they are made."""

    def __init__(
        self,
        manifest: Manifest,
        *,
        module: str,
        prefix: str,
        event_bus: str | None,
        shards: Mapping[str, int] | None = None,
    ):
        self.manifest = manifest
        self.shards = dict(shards or {})
        self.module = module
        self.prefix = prefix
        self.event_bus = event_bus
        self.queues: list[QueuePlan] = []
        self.functions: list[FunctionPlan] = []
        self.log_groups: list[LogGroupPlan] = []
        self._names: dict[tuple[str, str], str] = {}
        self.schedule_group = shorten(prefix, SCHEDULE_GROUP_NAME_LIMIT)
        self.task_queues = [f"queue.task.{t.name}" for t in manifest.tasks]
        self.subscription_queues = [f"queue.subscription.{s.name}" for s in manifest.subscriptions]

    def claim(self, space: str, name: str, owner: str) -> str:
        """Record a physical name; two owners of one name are an error naming both."""
        other = self._names.setdefault((space, name), owner)
        if other != owner:
            raise PlanError(
                f"{other} and {owner} would both be named {name!r} on AWS ({space} names "
                "allow only letters, digits, '-' and '_' and are shortened past their limit); "
                "rename one of them"
            )
        return name

    def queue(
        self,
        queue_id: str,
        suffix: str,
        *,
        owner: str,
        consumer_timeout_s: int,
        batching_window_s: int = 0,
        fifo: bool = False,
        max_receive_count: int = MAX_RECEIVE_COUNT,
        senders: tuple[str, ...] = (),
        purpose: str,
    ) -> str:
        """Add a doorbell queue and its dead-letter queue; return the queue's plan id.

        Args:
            queue_id: Its plan id (``queue.task.<task>``).
            suffix: Its physical name after the prefix (``task-<task>``).
            owner: What it belongs to, for errors.
            consumer_timeout_s: The timeout of the function that consumes it.
            batching_window_s: That function's batching window.
            fifo: A FIFO queue.
            max_receive_count: Receives before a message is dead-lettered.
            senders: Plan ids of the rules that send to it.
            purpose: One line saying what it is for.
        """
        dead_letter_id = queue_id + "-dlq"
        visibility = VISIBILITY_FACTOR * consumer_timeout_s + batching_window_s
        self.queues.append(
            QueuePlan(
                id=queue_id,
                name=self.claim("queue", queue_name(self.prefix, suffix, fifo=fifo), owner),
                fifo=fifo,
                visibility_timeout_s=min(visibility, VISIBILITY_LIMIT_S),
                retention_s=RETENTION_S,
                redrive=RedrivePlan(
                    dead_letter_queue=dead_letter_id, max_receive_count=max_receive_count
                ),
                high_throughput=fifo,
                senders=senders,
                purpose=purpose,
            )
        )
        self.dead_letter_queue(
            dead_letter_id,
            suffix + "-dlq",
            owner=owner,
            fifo=fifo,
            purpose=f"dead letters of {queue_id}",
        )
        return queue_id

    def dead_letter_queue(
        self, queue_id: str, suffix: str, *, owner: str, fifo: bool = False, purpose: str
    ) -> None:
        """Add a dead-letter queue (kept 14 days, no redrive of its own)."""
        name = queue_name(self.prefix, suffix, fifo=fifo)
        self.queues.append(
            QueuePlan(
                id=queue_id,
                name=self.claim("queue", name, f"the dead-letter queue of {owner}"),
                fifo=fifo,
                visibility_timeout_s=30,
                retention_s=DEAD_LETTER_RETENTION_S,
                redrive=None,
                high_throughput=fifo,
                purpose=purpose,
            )
        )

    def function(
        self,
        name: str,
        kind: FunctionKind,
        *,
        owner: str,
        memory_mb: int,
        timeout_s: int,
        queue: str | None = None,
        definition: str | None = None,
        concurrency: int | None = None,
    ) -> FunctionPlan:
        """Add a function consuming ``queue`` (if any), with its log group."""
        physical = self.claim("function", function_name(self.prefix, name), owner)
        log_group = f"log_group.{name}"
        self.log_groups.append(
            LogGroupPlan(
                id=log_group, name=f"/aws/lambda/{physical}", retention_days=LOG_RETENTION_DAYS
            )
        )
        sources: tuple[EventSourcePlan, ...] = ()
        if queue is not None:
            batch_size, window, report = BATCHING[kind]
            sources = (
                EventSourcePlan(
                    queue=queue,
                    batch_size=batch_size,
                    batching_window_s=window,
                    report_batch_item_failures=report,
                    maximum_concurrency=None if concurrency is None else max(2, concurrency),
                ),
            )
        function = FunctionPlan(
            name=name,
            kind=kind,
            handler=f"eventual_aws.handlers.{kind}.handler",
            physical_name=physical,
            memory_mb=memory_mb,
            timeout_s=timeout_s,
            environment=environment(
                kind,
                service=self.manifest.service,
                module=self.module,
                prefix=self.prefix,
                definition=definition,
                shards=self.shards,
            ),
            event_sources=sources,
            reserved_concurrency=concurrency,
            statements=statements(
                own_queue=queue,
                log_group=log_group,
                task_queues=self.task_queues,
                subscription_queues=self.subscription_queues,
                system_api=name == "api",
                schedule_group_name=self.schedule_group,
            ),
            log_group=log_group,
        )
        self.functions.append(function)
        return function

    def build(self) -> ServicePlan:
        """Return the plan: queues and functions first, then what refers to them."""
        manifest = self.manifest
        self.queue(
            "queue.workflow",
            "workflow",
            owner="the workflow queue",
            consumer_timeout_s=DEFAULTS["orchestrator"][1],
            fifo=True,
            purpose="orchestrator doorbell, one message group per execution",
        )
        self.queue(
            "queue.timer",
            "timer",
            owner="the timer queue",
            consumer_timeout_s=DEFAULTS["timer"][1],
            purpose="timers due within 15 minutes (message delay)",
        )
        self.dead_letter_queue(
            "queue.forwarder-dlq",
            "forwarder-dlq",
            owner="the forwarder",
            purpose="schedules the Scheduler could not deliver to the forwarder",
        )
        memory, timeout = DEFAULTS["orchestrator"]
        self.function(
            "orchestrator",
            "orchestrator",
            owner="the orchestrator",
            memory_mb=memory,
            timeout_s=timeout,
            queue="queue.workflow",
        )
        memory, timeout = DEFAULTS["timer"]
        self.function(
            "timer",
            "timer",
            owner="the timer",
            memory_mb=memory,
            timeout_s=timeout,
            queue="queue.timer",
        )
        memory, timeout = DEFAULTS["forwarder"]
        self.function(
            "forwarder", "forwarder", owner="the forwarder", memory_mb=memory, timeout_s=timeout
        )
        memory, timeout = DEFAULTS["api"]
        self.function("api", "api", owner="the api function", memory_mb=memory, timeout_s=timeout)
        own: dict[str, str] = {}
        for command in manifest.commands:
            if command.memory_mb is None and command.timeout_s is None:
                continue
            own[command.name] = self.function(
                f"api-{command.name}",
                "api",
                owner=command.label,
                memory_mb=_memory(command, "api"),
                timeout_s=_timeout(command, "api", 30, "API Gateway answers within 30 s at most"),
            ).name
        for task in manifest.tasks:
            timeout = _task_timeout(task)
            concurrency = _concurrency(task)
            queue = self.queue(
                f"queue.task.{task.name}",
                f"task-{task.name}",
                owner=task.label,
                consumer_timeout_s=timeout,
                purpose=f"attempts of task {task.name!r}",
            )
            self.function(
                f"task-{task.name}",
                "task",
                owner=task.label,
                memory_mb=_memory(task, "task"),
                timeout_s=timeout,
                queue=queue,
                definition=task.name,
                concurrency=concurrency,
            )
        rules = [self.subscription(subscription) for subscription in manifest.subscriptions]
        return ServicePlan(
            service=manifest.service,
            module=self.module,
            prefix=self.prefix,
            table=TABLE,
            bucket=BucketPlan(
                expirations=(
                    ExpirationPlan(
                        id="steps",
                        prefix="steps/",
                        days=STEP_REMAINDER_DAYS,
                        purpose=(
                            "remainders of steps split over several transactions, applied "
                            "by the step or by the next claim of its execution"
                        ),
                    ),
                )
            ),
            queues=tuple(self.queues),
            event_bus=self.bus(),
            rules=tuple(rules),
            schedule_group=ScheduleGroupPlan(name=self.schedule_group),
            schedules=tuple(schedule_plan(w, claim=self.claim) for w in manifest.schedules),
            roles=(
                RolePlan(
                    id="role.scheduler",
                    service_principal="scheduler.amazonaws.com",
                    statements=(
                        StatementPlan(
                            resource="function.forwarder",
                            actions=("lambda:InvokeFunction",),
                            arns=("${function.forwarder.arn}",),
                        ),
                        StatementPlan(
                            resource="queue.forwarder-dlq",
                            actions=("sqs:SendMessage",),
                            arns=("${queue.forwarder-dlq.arn}",),
                        ),
                    ),
                ),
            ),
            http_api=HttpApiPlan(name=f"{self.prefix}-api", routes=routes(manifest, own)),
            log_groups=tuple(self.log_groups),
            functions=tuple(self.functions),
        )

    def subscription(self, subscription: Handler) -> RulePlan:
        """Add a subscription's queue and function; return its rule."""
        timeout = _timeout(
            subscription, "subscription", LAMBDA_TIMEOUT_LIMIT_S, "a Lambda function runs at most"
        )
        rule_id = f"rule.{subscription.name}"
        pattern = rule_pattern(subscription.patterns, label=subscription.label)
        concurrency = _concurrency(subscription)
        queue = self.queue(
            f"queue.subscription.{subscription.name}",
            f"subscription-{subscription.name}",
            owner=subscription.label,
            consumer_timeout_s=timeout,
            # A delivery is attempted as often as the retry policy allows, then dead-lettered.
            max_receive_count=max(1, subscription.max_attempts),
            senders=(rule_id,),
            purpose=f"events for subscription {subscription.name!r}",
        )
        self.function(
            f"subscription-{subscription.name}",
            "subscription",
            owner=subscription.label,
            memory_mb=_memory(subscription, "subscription"),
            timeout_s=timeout,
            queue=queue,
            definition=subscription.name,
            concurrency=concurrency,
        )
        return RulePlan(
            id=rule_id,
            name=self.claim("rule", rule_name(self.prefix, subscription.name), subscription.label),
            subscription=subscription.name,
            bus="bus",
            pattern=pattern,
            target=queue,
        )

    def bus(self) -> EventBusPlan:
        """Return the event bus: an existing one when named, else the service's own."""
        if self.event_bus is None:
            return EventBusPlan(name=f"{self.prefix}-events", existing=False)
        if not _BUS_NAME.match(self.event_bus):
            raise PlanError(
                f"event_bus={self.event_bus!r} is not an EventBridge bus name: use 1-256 "
                "letters, digits, '.', '-', '_' or '/' (or 'default')"
            )
        return EventBusPlan(name=self.event_bus, existing=True)


_BUS_NAME: Final = re.compile(r"^[/.\-_A-Za-z0-9]{1,256}$")


def _check_shards(shards: Mapping[str, int]) -> dict[str, int]:
    for name, count in shards.items():
        if name not in SHARDS:
            raise PlanError(f"shards={{{name!r}: ...}} is not a shard setting: use {SHARDS}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise PlanError(f"shards[{name!r}] must be an integer of 1 or more, got {count!r}")
    return dict(sorted(shards.items()))


def plan(
    service: str | ModuleType | Service,
    *,
    prefix: str | None = None,
    event_bus: str | None = None,
    shards: Mapping[str, int] | None = None,
) -> ServicePlan:
    """Plan a service for AWS: every resource and function it needs, and their wiring.

    Args:
        service: A dotted module path (``"orders.service"``), a module, or a
            :class:`eventual.Service` loaded from a module.
        prefix: Starts every physical name the plan fixes (queues, functions,
            rules, schedule group); defaults to the service's name. Give each
            deployment of a service in one account and region its own prefix.
        event_bus: The name of an existing EventBridge bus to publish on and
            subscribe to (shared by services, or ``"default"``); by default the
            plan lists a bus of the service's own, ``<prefix>-events``.
        shards: Index shard counts set on every function, by setting:
            ``timer_shards``, ``listing_shards``, ``task_shards``,
            ``inbox_shards``, ``outbox_shards`` (docs/aws.md, "Limits"); 1 each
            by default.

    Raises:
        PlanError: A definition cannot be deployed as it is (a task's timeout
            longer than Lambda allows, a memory size Lambda does not offer, a name
            that collides with another once shortened, a subscription pattern
            EventBridge would refuse); the message names the definition.
        eventual.ServiceLoadError: The service module could not be imported.
    """
    if not isinstance(service, Service):
        service = Service.load(service)
    manifest = with_scheduler_tasks(read_manifest(service.manifest()))
    if manifest.module is None:
        raise PlanError(
            f"service {manifest.service!r} was built from definitions, not loaded from a "
            "module, and the Lambda handlers load it by module: plan Service.load(...) or a "
            "module path"
        )
    if prefix is None:
        chosen = check_prefix(manifest.service, origin="the service name")
    else:
        chosen = check_prefix(prefix, origin="the prefix")
    builder = _Builder(
        manifest,
        module=manifest.module,
        prefix=chosen,
        event_bus=event_bus,
        shards=_check_shards(shards or {}),
    )
    result = builder.build()
    result.check()
    return result
