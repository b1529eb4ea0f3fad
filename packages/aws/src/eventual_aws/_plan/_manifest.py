"""Reading a service's manifest (``Service.manifest()``) into what the plan needs.

The plan is built from the manifest, not from the definition objects, so that it
depends only on the documented description a deploy target receives. Options a
manifest lacks (one written before they existed) read as unset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from eventual.codec import JsonValue

from ._names import PlanError

__all__ = ["Handler", "HttpEndpoint", "Manifest", "ScheduledWorkflow", "read_manifest"]


@attrs.frozen(kw_only=True)
class HttpEndpoint:
    """A method and a path pattern."""

    method: str
    path: str


@attrs.frozen(kw_only=True)
class Handler:
    """A task, subscription, command or route and its deployment options.

    Attributes:
        kind: ``task``, ``subscription``, ``command`` or ``route``.
        name: The definition's name.
        label: How messages name it (``task 'reserve_stock' (orders.service:reserve_stock)``).
        timeout_s: Its ``timeout`` in seconds, if set.
        memory_mb: Its ``memory`` option, if set.
        concurrency: Its ``concurrency`` option, if set.
        max_attempts: A subscription's retry policy's attempts (1 without one).
        patterns: A subscription's EventBridge patterns.
        endpoints: A command's RPC and REST endpoints, or a route's.
    """

    kind: str
    name: str
    label: str
    timeout_s: float | None = None
    memory_mb: int | None = None
    concurrency: int | None = None
    max_attempts: int = 1
    patterns: tuple[dict[str, Any], ...] = ()
    endpoints: tuple[HttpEndpoint, ...] = ()


@attrs.frozen(kw_only=True)
class ScheduledWorkflow:
    """A workflow with a schedule.

    Attributes:
        name: The workflow's name.
        label: How messages name it (``workflow 'report' (reports.service:report)``).
        schedule: Its schedule's JSON form (``eventual.Schedule.to_json()``).
    """

    name: str
    label: str
    schedule: dict[str, Any]


@attrs.frozen(kw_only=True)
class Manifest:
    """The parts of a manifest the plan is made from."""

    service: str
    module: str | None
    tasks: tuple[Handler, ...]
    subscriptions: tuple[Handler, ...]
    commands: tuple[Handler, ...]
    routes: tuple[Handler, ...]
    schedules: tuple[ScheduledWorkflow, ...] = ()


def _get(entry: Mapping[str, JsonValue], key: str, type_: type[Any], where: str) -> Any:
    value = entry.get(key)
    if value is None:
        return None
    accepted = (int, float) if type_ is float else (type_,)
    if isinstance(value, bool) or not isinstance(value, accepted):
        raise PlanError(f"manifest: {where} has {key} = {value!r}, not a {type_.__name__}")
    return value


def _entries(manifest: Mapping[str, JsonValue], section: str) -> list[Mapping[str, JsonValue]]:
    entries = manifest.get(section, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise PlanError(f"manifest: {section} is not a list of objects")
    return [e for e in entries if isinstance(e, dict)]


def _handler(kind: str, entry: Mapping[str, JsonValue], **more: Any) -> Handler:
    name = entry.get("name")
    if not isinstance(name, str):
        raise PlanError(f"manifest: a {kind} has no name ({entry!r})")
    path = entry.get("import_path")
    label = f"{kind} {name!r}" + (f" ({path})" if isinstance(path, str) else "")
    timeout = _get(entry, "timeout_seconds", float, label)
    return Handler(
        kind=kind,
        name=name,
        label=label,
        timeout_s=None if timeout is None else float(timeout),
        memory_mb=_get(entry, "memory_mb", int, label),
        concurrency=_get(entry, "concurrency", int, label),
        **more,
    )


def _endpoint(value: object, where: str) -> HttpEndpoint:
    if not isinstance(value, dict):
        raise PlanError(f"manifest: {where} has an endpoint {value!r}, not an object")
    method, path = value.get("method"), value.get("path")
    if not isinstance(method, str) or not isinstance(path, str):
        raise PlanError(f"manifest: {where} has an endpoint without method or path")
    return HttpEndpoint(method=method, path=path)


def read_manifest(manifest: Mapping[str, JsonValue]) -> Manifest:
    """Read the sections of a manifest the plan uses.

    Raises:
        PlanError: A section or field does not have the manifest's shape.
    """
    service = manifest.get("service")
    if not isinstance(service, dict) or not isinstance(service.get("name"), str):
        raise PlanError("manifest: no service name")
    module = service.get("module")
    subscriptions = []
    for entry in _entries(manifest, "subscriptions"):
        patterns = entry.get("patterns")
        if not isinstance(patterns, list) or not all(isinstance(p, dict) for p in patterns):
            raise PlanError(f"manifest: subscription {entry.get('name')!r} has no patterns list")
        retry = entry.get("retry")
        attempts = retry.get("max_attempts") if isinstance(retry, dict) else 1
        subscriptions.append(
            _handler(
                "subscription",
                entry,
                patterns=tuple(p for p in patterns if isinstance(p, dict)),
                max_attempts=attempts if isinstance(attempts, int) else 1,
            )
        )
    commands = []
    for entry in _entries(manifest, "commands"):
        where = f"command {entry.get('name')!r}"
        endpoints = [_endpoint(entry.get("rpc"), where)]
        if entry.get("rest") is not None:
            endpoints.append(_endpoint(entry.get("rest"), where))
        commands.append(_handler("command", entry, endpoints=tuple(endpoints)))
    routes = [
        _handler("route", entry, endpoints=(_endpoint(entry, f"route {entry.get('name')!r}"),))
        for entry in _entries(manifest, "routes")
    ]
    schedules = []
    for entry in _entries(manifest, "workflows"):
        schedule = entry.get("schedule")
        if schedule is None:
            continue
        name, path = entry.get("name"), entry.get("import_path")
        label = f"workflow {name!r}" + (f" ({path})" if isinstance(path, str) else "")
        if not isinstance(name, str) or not isinstance(schedule, dict):
            raise PlanError(f"manifest: {label} has a schedule that is not an object")
        schedules.append(ScheduledWorkflow(name=name, label=label, schedule=dict(schedule)))
    return Manifest(
        service=str(service["name"]),
        module=module if isinstance(module, str) else None,
        tasks=tuple(_handler("task", e) for e in _entries(manifest, "tasks")),
        subscriptions=tuple(subscriptions),
        commands=tuple(commands),
        routes=tuple(routes),
        schedules=tuple(schedules),
    )
