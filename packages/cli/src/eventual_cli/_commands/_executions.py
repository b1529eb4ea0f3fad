"""Reading executions: ``executions``, ``execution``, ``history`` and ``export``."""

from __future__ import annotations

from pathlib import Path

import click

from eventual import EventualError
from eventual.history import history_event_from_json
from eventual_engine import history_to_json

from ._api import SYSTEM
from ._output import Output, client_options
from ._render import execution_table, executions_table, history_table, status_text

__all__ = ["execution", "executions", "export", "history"]

_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT")


@click.command("executions")
@click.option("--workflow", metavar="NAME", help="Only executions of this workflow.")
@click.option(
    "--status",
    type=click.Choice(_STATUSES, case_sensitive=False),
    help="Only executions in this status.",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="At most this many, newest first.",
)
@client_options
def executions(
    workflow: str | None,
    status: str | None,
    limit: int,
    url: str,
    token: str | None,
    as_json: bool,
) -> None:
    """List executions, newest first."""
    out = Output(as_json)
    with out.client(url, token) as client:
        records = list(
            client.pages(
                f"{SYSTEM}/executions",
                "executions",
                limit,
                workflow=workflow,
                status=status.upper() if status else None,
            )
        )
    if as_json:
        out.json(records)
    elif records:
        out.show(executions_table(records))
    else:
        out.note("no executions" + (" match" if workflow or status else " yet"))


@click.command("execution")
@click.argument("execution_id", metavar="ID")
@click.option(
    "--wait",
    type=click.FloatRange(0),
    default=0,
    help="Wait up to this many seconds for the execution to end.",
)
@client_options
def execution(execution_id: str, wait: float, url: str, token: str | None, as_json: bool) -> None:
    """Show an execution: status, input, and result or error."""
    out = Output(as_json)
    with out.client(url, token) as client:
        record = client.execution(execution_id)
        if wait > 0 and record["status"] == "RUNNING":
            with out.progress(f"waiting up to {wait:g}s for {execution_id} to end"):
                # Long-polls of at most 20 s, so a long wait survives proxies' timeouts.
                left = wait
                while left > 0 and record["status"] == "RUNNING":
                    step = min(left, 20.0)
                    record = client.execution(execution_id, wait=step)
                    left -= step
    if as_json:
        out.json(record)
    else:
        out.show(execution_table(record))


@click.command("history")
@click.argument("execution_id", metavar="ID")
@client_options
def history(execution_id: str, url: str, token: str | None, as_json: bool) -> None:
    """Show an execution's history events, oldest first."""
    out = Output(as_json)
    with out.client(url, token) as client:
        events = client.history(execution_id)
        record = None if as_json else client.execution(execution_id)
    if as_json:
        out.json(events)
        return
    out.show(history_table(execution_id, events))
    if record is not None:
        out.show(status_text(record["status"]))


@click.command("export")
@click.argument("execution_id", metavar="ID")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output.",
)
@client_options
def export(
    execution_id: str, output: Path | None, url: str, token: str | None, as_json: bool
) -> None:
    """Write an execution's history as JSON, for `eventual replay --file`.

    The document is always JSON, so --json changes nothing here.
    """
    out = Output(as_json)
    with out.client(url, token) as client:
        events = client.history(execution_id)
    try:
        document = history_to_json(execution_id, [history_event_from_json(e) for e in events])
    except EventualError as error:
        raise click.ClickException(
            f"{execution_id}: the service sent a bad history ({error})"
        ) from None
    if output is None:
        click.echo(document, nl=False)
    else:
        try:
            output.write_text(document, encoding="utf-8")
        except OSError as error:
            raise click.ClickException(
                f"cannot write {output}: {error.strerror or error}"
            ) from None
        out.note(f"wrote {len(events)} events of {execution_id} to {output}")
