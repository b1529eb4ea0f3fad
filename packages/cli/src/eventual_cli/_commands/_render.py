"""How executions, histories and dead letters look in a terminal."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

__all__ = [
    "dead_letters_table",
    "describe_event",
    "duration",
    "event_line",
    "execution_table",
    "executions_table",
    "history_table",
    "short_json",
    "shown_time",
    "status_text",
]

_STATUS_STYLES = {
    "RUNNING": "bold blue",
    "SUCCEEDED": "bold green",
    "FAILED": "bold red",
    "CANCELLED": "bold yellow",
    "TIMED_OUT": "bold magenta",
}
_MAX_JSON = 80


def status_text(status: str) -> Text:
    """Return a status, coloured by what it means."""
    return Text(status, style=_STATUS_STYLES.get(status, ""))


def short_json(value: Any, limit: int = _MAX_JSON) -> str:
    """Return compact JSON, cut to ``limit`` characters with an ellipsis."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def shown_time(value: str | None) -> str:
    """Return an ISO time as ``YYYY-MM-DD HH:MM:SS`` (empty for None)."""
    moment = _time(value)
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def duration(start: str | None, end: str | None) -> str:
    """Return the time between two ISO timestamps, readably (``"1.25s"``, ``"3m 2s"``)."""
    first, last = _time(start), _time(end)
    if first is None or last is None:
        return ""
    seconds = (last - first).total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m"


def describe_event(event: Mapping[str, Any]) -> str:
    """Return what a history event (JSON) says, in a few words."""
    match event.get("type"):
        case "WorkflowStarted":
            parent = f" (child of {event['parent_id']})" if event.get("parent_id") else ""
            run = f" (run {event['run']})" if event.get("run", 1) > 1 else ""
            started = f"{event['workflow']} started with {short_json(event.get('input'))}"
            return started + parent + run
        case "WorkflowContinuedAsNew":
            return (
                f"run {event.get('run', 1)} continued as new with {short_json(event.get('input'))}"
            )
        case "WorkflowSucceeded":
            return f"succeeded: {short_json(event.get('result'))}"
        case "WorkflowFailed" | "ChildWorkflowFailed" | "TaskFailed":
            attempt = f" (attempt {event['attempt']})" if "attempt" in event else ""
            return f"failed{attempt}: {event['error_type']}: {event['message']}"
        case "WorkflowCancelRequested":
            return "cancel requested" + (f": {event['reason']}" if event.get("reason") else "")
        case "WorkflowCancelled":
            return "cancelled" + (f": {event['reason']}" if event.get("reason") else "")
        case "WorkflowTimedOut":
            return "timed out"
        case "TaskScheduled":
            args = ", ".join(short_json(arg, 40) for arg in event.get("args", []))
            return f"task {event['task']}({args})"
        case "TaskSucceeded":
            return f"returned {short_json(event.get('result'))} (attempt {event.get('attempt', 1)})"
        case "TaskTimedOut":
            return f"timed out (attempt {event.get('attempt', 1)})"
        case "TaskHeartbeatTimedOut":
            return f"missed its heartbeat (attempt {event.get('attempt', 1)})"
        case "TaskRetryScheduled":
            return (
                f"attempt {event['attempt'] - 1} failed: {event['error_type']}: "
                f"{event['message']}; attempt {event['attempt']} "
                f"at {shown_time(event['retry_at'])}"
            )
        case "TimerScheduled":
            return f"timer until {shown_time(event['until'])}"
        case "TimerFired":
            return "timer fired"
        case "TaskStarted":
            return f"attempt {event.get('attempt', 1)} started"
        case "TimerCancelled":
            return "timer cancelled (no longer waited for)"
        case "SignalReceived":
            return f"signal {event['signal']} received: {short_json(event.get('payload'))}"
        case "SignalSent":
            return (
                f"signal {event['signal']} sent to {event['execution_id']}: "
                f"{short_json(event.get('payload'))}"
            )
        case "ChildWorkflowScheduled":
            return f"child {event['execution_id']} started with {short_json(event.get('input'))}"
        case "ChildWorkflowSucceeded":
            return f"child returned {short_json(event.get('result'))}"
        case "WorkflowPatched":
            kind = "deprecated patch" if event.get("deprecated") else "patch"
            return f"took {kind} {event['patch']} after call #{event.get('after_seq', 0)}"
        case "EventsPublished":
            names = ", ".join(e["name"] for e in event.get("events", []))
            return f"published {names}"
        case _:
            fields = {k: v for k, v in event.items() if k not in ("type", "timestamp", "seq")}
            return short_json(fields)


def event_line(event: Mapping[str, Any], start: str | None) -> Text:
    """Return one history event as a line: offset, sequence number, type, summary."""
    line = Text()
    line.append(f"{'+' + duration(start, event.get('timestamp')):>9} ", style="dim")
    seq = event.get("seq")
    line.append(f"{'#' + str(seq) if seq is not None else '':>4} ", style="cyan")
    line.append(f"{event.get('type', '?'):<24} ", style="bold")
    line.append(describe_event(event))
    return line


def history_table(execution_id: str, events: Iterable[Mapping[str, Any]]) -> Table:
    """Return a history as a table: time, offset, sequence number, event and what it says."""
    table = Table(title=f"history of {execution_id}", title_justify="left")
    table.add_column("time", no_wrap=True)
    table.add_column("+", justify="right", no_wrap=True)
    table.add_column("seq", justify="right")
    table.add_column("event", no_wrap=True)
    table.add_column("details", min_width=30)
    start = None
    for event in events:
        start = start or event.get("timestamp")
        seq = event.get("seq")
        table.add_row(
            shown_time(event.get("timestamp")),
            duration(start, event.get("timestamp")),
            "" if seq is None else str(seq),
            str(event.get("type", "?")),
            describe_event(event),
        )
    return table


def executions_table(records: Iterable[Mapping[str, Any]]) -> Table:
    """Return executions as a table: id, status, start, duration."""
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("started", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("parent")
    for record in records:
        table.add_row(
            record["id"],
            status_text(record["status"]),
            shown_time(record.get("started_at")),
            duration(record.get("started_at"), record.get("ended_at")),
            record.get("parent_id") or "",
        )
    return table


def execution_table(record: Mapping[str, Any]) -> Table:
    """Return one execution as a two-column table of its fields."""
    table = Table(show_header=False, title=record["id"], title_justify="left")
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value")
    table.add_row("status", status_text(record["status"]))
    table.add_row("workflow", record["workflow"])
    table.add_row("name", record["name"])
    if record.get("parent_id"):
        table.add_row("parent", record["parent_id"])
    table.add_row("started", shown_time(record.get("started_at")))
    if record.get("ended_at"):
        table.add_row("ended", shown_time(record["ended_at"]))
        table.add_row("duration", duration(record.get("started_at"), record["ended_at"]))
    table.add_row("input", json.dumps(record.get("input"), ensure_ascii=False, indent=1))
    if record.get("run", 1) > 1:
        # continue_as_new: the history holds every run, the current one from run_start.
        start = record.get("run_start", 0)
        table.add_row("run", f"{record['run']} (continued as new; from history event {start})")
    if record["status"] == "SUCCEEDED":
        table.add_row("result", json.dumps(record.get("result"), ensure_ascii=False, indent=1))
    elif record.get("error_type"):
        table.add_row("error", f"{record['error_type']}: {record.get('message') or ''}")
    return table


def dead_letters_table(letters: Iterable[Mapping[str, Any]]) -> Table:
    """Return dead letters as a table: id, subscription, event, error, attempts."""
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("subscription", no_wrap=True)
    table.add_column("event", min_width=16, overflow="fold")
    table.add_column("error", min_width=20, overflow="fold")
    table.add_column("attempts", justify="right", min_width=8)
    table.add_column("failed", no_wrap=True)
    for letter in letters:
        event = letter.get("event", {})
        table.add_row(
            letter["id"],
            letter["subscription"],
            f"{event.get('name', '?')} {short_json(event.get('payload'), 40)}",
            f"{letter['error_type']}: {letter['message']}",
            str(letter["attempts"]),
            shown_time(letter.get("failed_at")),
        )
    return table
