"""``eventual start``: start an execution, and with ``--follow`` watch it to its end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.text import Text

from ._api import SYSTEM, SystemClient
from ._inputs import file_json, json_argument
from ._output import Output, client_options
from ._render import event_line, status_text

__all__ = ["follow_history", "start"]

# How long each long-poll of the history waits for a new event; a new event is
# shown as soon as it is committed, this only bounds one request.
_POLL_SECONDS = 20.0


def follow_history(client: SystemClient, execution_id: str, out: Output) -> dict[str, Any]:
    """Print an execution's history events as they happen; return its final record."""
    shown = 0
    start: str | None = None
    with out.progress(f"{execution_id}: RUNNING") as progress:
        while True:
            body = client.history_since(execution_id, shown, wait=_POLL_SECONDS)
            for event in body["events"]:
                start = start or event.get("timestamp")
                if out.as_json:
                    out.json(event, lines=True)
                else:
                    out.show(event_line(event, start), line=True)
            shown = body["next"]
            # The status was read before the history, so once it has ended the
            # events above are all of them.
            if body["status"] != "RUNNING":
                return client.execution(execution_id)
            progress.update(f"{execution_id}: RUNNING, {shown} events so far")


@click.command("start")
@click.argument("workflow")
@click.argument("input_text", metavar="[INPUT|-]", required=False)
@click.option(
    "-f",
    "--file",
    "input_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the input (JSON) from this file.",
)
@click.option("--name", help="The execution's name (default: a new ULID); the id is WORKFLOW/NAME.")
@click.option(
    "--follow",
    is_flag=True,
    help="Print history events as they happen until the execution ends; "
    "the exit code is 0 only if it succeeded.",
)
@client_options
def start(
    workflow: str,
    input_text: str | None,
    input_file: Path | None,
    name: str | None,
    follow: bool,
    url: str,
    token: str | None,
    as_json: bool,
) -> None:
    """Start WORKFLOW with INPUT (JSON; `-` reads standard input).

    Starting again with the same --name and input returns the same execution.
    """
    if input_text is not None and input_file is not None:
        raise click.UsageError("give the input either as INPUT or with --file, not both")
    value = file_json(input_file, "--file") if input_file else json_argument(input_text, "INPUT")
    out = Output(as_json)
    body: dict[str, Any] = {"workflow": workflow, "input": value}
    if name is not None:
        body["name"] = name
    with out.client(url, token) as client:
        started = client.request("POST", f"{SYSTEM}/executions", body=body)
        execution_id = str(started["id"])
        if not follow:
            if as_json:
                out.json(started)
            else:
                out.show(Text.assemble("started ", (execution_id, "bold")))
            return
        if not as_json:
            out.note(f"started {execution_id}; following its history (Ctrl-C stops watching)")
        record = follow_history(client, execution_id, out)
    if not as_json:
        out.show(status_text(record["status"]))
    if record["status"] != "SUCCEEDED":
        problem = f"{execution_id} ended {record['status']}"
        if record.get("error_type"):
            problem += f": {record['error_type']}: {record.get('message') or ''}"
        raise click.ClickException(problem)
