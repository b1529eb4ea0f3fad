"""``ServicePlan``: everything a service needs on AWS, and its JSON form."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import attrs

from eventual.codec import JsonValue, decode, encode

from ._function import FunctionPlan
from ._names import PlanError
from ._references import Reference, check_references, find_references, substitute
from ._resources import (
    BucketPlan,
    EventBusPlan,
    HttpApiPlan,
    LogGroupPlan,
    QueuePlan,
    RolePlan,
    RulePlan,
    ScheduleGroupPlan,
    SchedulePlan,
    TablePlan,
)

__all__ = ["PLAN_VERSION", "ServicePlan"]

PLAN_VERSION: Final = 2
"""Version of :meth:`ServicePlan.to_json`'s format; raised on incompatible changes."""

Resource = (
    TablePlan
    | BucketPlan
    | QueuePlan
    | EventBusPlan
    | RulePlan
    | ScheduleGroupPlan
    | SchedulePlan
    | RolePlan
    | HttpApiPlan
    | LogGroupPlan
    | FunctionPlan
)


@attrs.frozen(kw_only=True)
class ServicePlan:
    """Everything one service needs on AWS; renderers create exactly what it lists.

    Build it with :func:`eventual_aws.plan`. Values that exist only once deployed
    (a queue's URL, an ARN) are placeholders, ``${<plan id>.<attribute>}``:
    :meth:`references` lists them and :meth:`resolve` fills them in.

    Attributes:
        version: :data:`PLAN_VERSION`.
        service: The service's name.
        module: The module the handlers load the service from.
        prefix: The prefix of the physical names.
        table: The DynamoDB table.
        bucket: The S3 bucket.
        queues: Every queue, each dead-letter queue after its queue.
        event_bus: The event bus.
        rules: One EventBridge rule per subscription.
        schedule_group: The EventBridge Scheduler group.
        schedules: One recurring schedule per scheduled workflow, in the group.
        roles: Roles assumed by AWS services (the scheduler's).
        http_api: The HTTP API and its routes.
        log_groups: One per function.
        functions: One per handler.
    """

    version: int = PLAN_VERSION
    service: str
    module: str
    prefix: str
    table: TablePlan
    bucket: BucketPlan
    queues: tuple[QueuePlan, ...]
    event_bus: EventBusPlan
    rules: tuple[RulePlan, ...]
    schedule_group: ScheduleGroupPlan
    schedules: tuple[SchedulePlan, ...]
    roles: tuple[RolePlan, ...]
    http_api: HttpApiPlan
    log_groups: tuple[LogGroupPlan, ...]
    functions: tuple[FunctionPlan, ...]

    def resources(self) -> Iterator[Resource]:
        """Yield every resource of the plan, functions included, in plan order."""
        yield self.table
        yield self.bucket
        yield from self.queues
        yield self.event_bus
        yield from self.rules
        yield self.schedule_group
        yield from self.schedules
        yield from self.roles
        yield self.http_api
        yield from self.log_groups
        yield from self.functions

    def resource(self, resource_id: str) -> Resource:
        """Return the resource with this plan id.

        Raises:
            KeyError: The plan has no such resource.
        """
        for resource in self.resources():
            if resource.id == resource_id:
                return resource
        raise KeyError(f"the plan of {self.service!r} has no resource {resource_id!r}")

    def function(self, name: str) -> FunctionPlan:
        """Return the function with this plan name (``task-reserve_stock``).

        Raises:
            KeyError: The plan has no such function.
        """
        for function in self.functions:
            if function.name == name:
                return function
        known = ", ".join(f.name for f in self.functions)
        raise KeyError(f"the plan of {self.service!r} has no function {name!r}; it has {known}")

    def queue(self, resource_id: str) -> QueuePlan:
        """Return the queue with this plan id (``queue.workflow``).

        Raises:
            KeyError: The plan has no such queue.
        """
        for queue in self.queues:
            if queue.id == resource_id:
                return queue
        raise KeyError(f"the plan of {self.service!r} has no queue {resource_id!r}")

    def references(self) -> list[Reference]:
        """Return every placeholder the plan holds, once each, sorted.

        A renderer provides a value for each (see :meth:`resolve`).
        """
        found: set[Reference] = set()
        for text in _strings(self.to_json()):
            found.update(find_references(text))
        return sorted(found)

    def check(self) -> None:
        """Raise :class:`PlanError` when a placeholder names an unknown resource or attribute."""
        check_references(self.references(), (r.id for r in self.resources()))

    def resolve(self, values: Mapping[str, str]) -> ServicePlan:
        """Return a copy with every placeholder replaced by its value.

        Args:
            values: Values by reference key (``{"queue.workflow.url": "https://..."}``).

        Raises:
            PlanError: A placeholder has no value; the message names it.
        """
        missing = sorted({r.key for r in self.references() if r.key not in values})
        if missing:
            raise PlanError(
                f"cannot resolve the plan of {self.service!r}: no value for " + ", ".join(missing)
            )
        resolved = _map_strings(self.to_json(), lambda text: substitute(text, values))
        assert isinstance(resolved, dict)
        return ServicePlan.from_json(resolved)

    def to_json(self) -> dict[str, JsonValue]:
        """Return the plan as JSON-ready data, with its format ``"version"``."""
        data = encode(self, ServicePlan)
        assert isinstance(data, dict)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServicePlan:
        """Rebuild a plan from :meth:`to_json`'s data.

        Raises:
            PlanError: The data has another format version.
            eventual.ValidationError: The data does not fit the format; the
                message names the field.
        """
        version = data.get("version")
        if version != PLAN_VERSION:
            raise PlanError(
                f"plan format version {version!r} is not supported (this eventual-aws reads "
                f"version {PLAN_VERSION}); plan the service again with this version"
            )
        plan: ServicePlan = decode(dict(data), ServicePlan)
        return plan


def _strings(data: object) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from _strings(item)


def _map_strings(data: JsonValue, change: Callable[[str], str]) -> JsonValue:
    if isinstance(data, str):
        return change(data)
    if isinstance(data, dict):
        return {change(k): _map_strings(v, change) for k, v in data.items()}
    if isinstance(data, list):
        return [_map_strings(item, change) for item in data]
    return data
