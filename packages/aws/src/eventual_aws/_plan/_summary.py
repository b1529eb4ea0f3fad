"""A readable summary of a plan, as ``eventual plan`` prints it."""

from __future__ import annotations

import json
from collections.abc import Sized

from ._function import EventSourcePlan
from ._service_plan import ServicePlan

__all__ = ["summary"]


def _source(source: EventSourcePlan) -> str:
    details = [f"batch {source.batch_size}"]
    if source.batching_window_s:
        details.append(f"window {source.batching_window_s} s")
    if source.report_batch_item_failures:
        details.append("partial failures")
    if source.maximum_concurrency is not None:
        details.append(f"at most {source.maximum_concurrency} at once")
    return f"{source.queue} ({', '.join(details)})"


def _count(items: Sized, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def summary(plan: ServicePlan) -> str:
    """Return the plan as text: functions, queues, rules, schedules and routes, one per line."""
    lines = [
        f"Plan of service {plan.service!r} (module {plan.module}, prefix {plan.prefix}): "
        f"{_count(plan.functions, 'function')}, {_count(plan.queues, 'queue')}, "
        f"{_count(plan.rules, 'rule')}, {_count(plan.schedules, 'schedule')}, "
        f"{_count(plan.http_api.routes, 'route')}",
        "",
        "Functions",
    ]
    rows = []
    for f in plan.functions:
        sources = ", ".join(_source(s) for s in f.event_sources)
        if f.kind == "forwarder":
            sources = "invoked by EventBridge Scheduler"
        elif f.kind == "api":
            served = sum(1 for r in plan.http_api.routes if r.function == f.name)
            sources = _count(range(served), "HTTP route")
        concurrency = "" if f.reserved_concurrency is None else f"{f.reserved_concurrency} reserved"
        rows.append([f.name, f.kind, f"{f.memory_mb} MB", f"{f.timeout_s} s", concurrency, sources])
    lines += _table(rows)
    lines += ["", "Queues"]
    rows = []
    for q in plan.queues:
        redrive = ""
        if q.redrive is not None:
            receives = _count(range(q.redrive.max_receive_count), "receive")
            redrive = f"dead letters after {receives} -> {q.redrive.dead_letter_queue}"
        kind = "FIFO" if q.fifo else "standard"
        rows.append([q.id, q.name, kind, f"visibility {q.visibility_timeout_s} s", redrive])
    lines += _table(rows)
    bus = plan.event_bus
    lines += ["", f"Event bus {bus.name}" + (" (existing)" if bus.existing else "")]
    if plan.rules:
        lines += ["", "Rules"]
        lines += _table(
            [
                [r.id, r.name, json.dumps(r.pattern, separators=(",", ":")), f"-> {r.target}"]
                for r in plan.rules
            ]
        )
    if plan.schedules:
        lines += ["", f"Schedules (group {plan.schedule_group.name})"]
        lines += _table(
            [[s.id, s.name, s.expression, s.timezone, f"-> {s.target}"] for s in plan.schedules]
        )
    lines += ["", f"Routes ({plan.http_api.name})"]
    lines += _table(
        [
            [
                r.key,
                f"-> {r.function}",
                "IAM" if r.authorization == "iam" else "",
                r.serves,
            ]
            for r in plan.http_api.routes
        ]
    )
    lines += [
        "",
        f"Schedule group {plan.schedule_group.name}; table, bucket and log groups as listed "
        "in --json.",
        "Placeholders a renderer fills in: " + ", ".join(r.placeholder for r in plan.references()),
    ]
    return "\n".join(lines) + "\n"
