"""The manifest: the versioned JSON description of a service that deploy targets read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Final, TypeVar

from .._codec import JsonValue
from .._definition import Definition
from .._http import RoutePattern
from .._retry import RetryPolicy

if TYPE_CHECKING:
    from ._registry import Service

__all__ = ["MANIFEST_VERSION", "build_manifest"]

MANIFEST_VERSION: Final = 1
"""Version of the :meth:`Service.manifest` format; raised on incompatible changes."""

D = TypeVar("D", bound=Definition)


def build_manifest(
    service: Service, import_path: Callable[[Definition], str | None]
) -> dict[str, JsonValue]:
    """Describe ``service`` for a deploy target (see :meth:`Service.manifest`).

    Args:
        service: The service to describe.
        import_path: Gives the ``module:attribute`` of each of its definitions.
    """

    def entry(definition: Definition, **fields: JsonValue) -> JsonValue:
        return {
            "kind": definition.kind,
            "name": definition.name,
            "import_path": import_path(definition),
            **fields,
        }

    def by_name(mapping: Mapping[str, D]) -> list[D]:
        return sorted(mapping.values(), key=lambda d: d.name)

    return {
        "manifest_version": MANIFEST_VERSION,
        "service": {"name": service.name, "module": service.module},
        "workflows": [
            entry(
                w,
                timeout_seconds=_seconds(w.timeout),
                schedule=None if w.schedule is None else w.schedule.to_json(),
            )
            for w in by_name(service.workflows)
        ],
        "tasks": [
            entry(
                t,
                timeout_seconds=_seconds(t.timeout),
                heartbeat_timeout_seconds=_seconds(t.heartbeat_timeout),
                retry=_retry(t.retry),
                memory_mb=t.memory,
                concurrency=t.concurrency,
            )
            for t in by_name(service.tasks)
        ],
        "signals": [
            entry(s, payload_type=_type_name(s.payload_type)) for s in by_name(service.signals)
        ],
        "events": [
            entry(e, payload_type=_type_name(e.payload_type)) for e in by_name(service.events)
        ],
        "subscriptions": [
            entry(
                s,
                events=[e.name for e in s.events],
                patterns=list[JsonValue](s.patterns()),
                retry=_retry(s.retry),
                timeout_seconds=_seconds(s.timeout),
                memory_mb=s.memory,
                concurrency=s.concurrency,
            )
            for s in by_name(service.subscriptions)
        ],
        "commands": [
            entry(
                c,
                rpc=_rest("POST", RoutePattern(f"/_rpc/{c.name}")),
                rest=None if c.path is None else _rest(c.method, c.path),
                timeout_seconds=_seconds(c.timeout),
                memory_mb=c.memory,
            )
            for c in by_name(service.commands)
        ],
        "routes": [
            entry(r, method=r.method, path=r.path.pattern, path_params=list(r.path.param_names))
            for r in sorted(service.routes.values(), key=lambda r: (r.path.pattern, r.method))
        ],
        "middleware": [entry(m) for m in service.middleware],
    }


def _seconds(value: timedelta | None) -> JsonValue:
    return None if value is None else value.total_seconds()


def _retry(policy: RetryPolicy | None) -> JsonValue:
    if policy is None:
        return None
    return {
        "max_attempts": policy.max_attempts,
        "initial_interval_seconds": policy.initial_interval.total_seconds(),
        "backoff": policy.backoff,
        "max_interval_seconds": policy.max_interval.total_seconds(),
        "non_retryable": list(policy.non_retryable),
    }


def _type_name(type_: object) -> str:
    if type_ is type(None):
        return "None"
    if isinstance(type_, type):
        module, qualname = type_.__module__, type_.__qualname__
        return qualname if module == "builtins" else f"{module}.{qualname}"
    return repr(type_)


def _rest(method: str, pattern: RoutePattern) -> JsonValue:
    return {"method": method, "path": pattern.pattern, "path_params": list(pattern.param_names)}
