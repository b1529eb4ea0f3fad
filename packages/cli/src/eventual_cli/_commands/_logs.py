"""``eventual logs``: the lines an execution's workflow code and tasks logged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
from rich.text import Text

from ._output import Output, client_options
from ._render import shown_time

__all__ = ["log_line", "logs"]

# How long each long-poll waits for a new line; only bounds one request.
_POLL_SECONDS = 20.0

_LEVEL_STYLES = {"WARNING": "yellow", "ERROR": "red", "CRITICAL": "bold red"}


def log_line(entry: Mapping[str, Any]) -> Text:
    """Return one kept log entry as a line: time, sequence number, origin, level, message."""
    line = Text()
    line.append(f"{shown_time(entry.get('time'))} ", style="dim")
    line.append(f"{'#' + str(entry.get('seq', 0)):>4} ", style="cyan")
    task = entry.get("task")
    if task:
        line.append(f"{task} (attempt {entry.get('attempt', 1)}) ", style="magenta")
    level = str(entry.get("level", "INFO"))
    line.append(f"{level:<8} ", style=_LEVEL_STYLES.get(level, "bold"))
    line.append(str(entry.get("message", "")))
    return line


@click.command("logs")
@click.argument("execution_id", metavar="ID")
@click.option(
    "-f",
    "--follow",
    is_flag=True,
    help="Keep printing new lines as they are logged, until the execution ends.",
)
@client_options
def logs(execution_id: str, follow: bool, url: str, token: str | None, as_json: bool) -> None:
    """Print the lines the execution's workflow code and tasks logged (INFO and above).

    Each line shows when it was logged, the sequence number of the call it
    follows (or the task's own call), the task and attempt for a task body, the
    level and the message. With --json, one JSON object per line.
    """
    out = Output(as_json)
    after = 0
    with out.client(url, token) as client:
        while True:
            body = client.logs(execution_id, after, wait=_POLL_SECONDS if follow and after else 0)
            for entry in body["entries"]:
                if as_json:
                    out.json(entry, lines=True)
                else:
                    out.show(log_line(entry), line=True)
            after = body["next"]
            # The status is read before the entries, so once it has ended they are all here.
            if not follow or body["status"] != "RUNNING":
                break
    if not follow and after == 0 and not as_json:
        out.note(f"{execution_id} has logged nothing")
