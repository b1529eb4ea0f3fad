"""``eventual schedules``: list scheduled workflows, pause and resume them."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import click
from click import ParameterSource
from rich.table import Table

from ._api import SYSTEM
from ._output import Output, client_options
from ._render import shown_time, status_text

__all__ = ["schedules"]

T = TypeVar("T")


def _when(schedule: Mapping[str, Any]) -> str:
    if schedule["kind"] == "cron":
        return f"cron {schedule['expression']} ({schedule['tz']})"
    seconds = float(schedule["interval_seconds"])
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"every {seconds / size:g}{unit}"
    return f"every {seconds:g}s"


def schedules_table(rows: Iterable[Mapping[str, Any]]) -> Table:
    """Return scheduled workflows as a table: when, policies, state, next and last run."""
    table = Table()
    table.add_column("workflow", no_wrap=True)
    table.add_column("schedule", overflow="fold")
    table.add_column("overlap", no_wrap=True)
    table.add_column("catch up", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("next run (UTC)", no_wrap=True)
    table.add_column("last run", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for row in rows:
        table.add_row(
            row["workflow"],
            _when(row),
            row["overlap"],
            row["catch_up"],
            "paused" if row["paused"] else "active",
            shown_time(row.get("next_run")),
            row.get("last_run") or "",
            status_text(row.get("last_status") or ""),
        )
    return table


@click.group("schedules", invoke_without_command=True)
@client_options
@click.pass_context
def schedules(ctx: click.Context, url: str, token: str | None, as_json: bool) -> None:
    """List the service's scheduled workflows; pause or resume one."""
    if ctx.invoked_subcommand is not None:
        return
    out = Output(as_json)
    with out.client(url, token) as client:
        answer = client.request("GET", f"{SYSTEM}/schedules")
    rows = answer["schedules"]
    if as_json:
        out.json(rows)
    elif rows:
        out.show(schedules_table(rows))
    else:
        out.note("no scheduled workflows")


def _given(name: str, value: T) -> T:
    """Return a subcommand's option, or the group's when it was given to the group only.

    ``eventual schedules --url URL pause WORKFLOW`` then pauses WORKFLOW at URL,
    not at the default service.
    """
    ctx = click.get_current_context()
    parent = ctx.parent
    if parent is None or ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
        return value
    if parent.get_parameter_source(name) is ParameterSource.COMMANDLINE:
        inherited: T = parent.params[name]
        return inherited
    return value


def _control(action: str, workflow: str, url: str, token: str | None, as_json: bool) -> None:
    url, token, as_json = _given("url", url), _given("token", token), _given("as_json", as_json)
    out = Output(as_json)
    path = f"{SYSTEM}/schedules/{urllib.parse.quote(workflow, safe='')}/{action}"
    with out.client(url, token) as client:
        answer = client.request("POST", path, what=f"schedule of {workflow!r}")
    if as_json:
        out.json(answer)
    else:
        out.note(f"{action}d the schedule of {workflow}")


@schedules.command("pause")
@click.argument("workflow")
@client_options
def pause(workflow: str, url: str, token: str | None, as_json: bool) -> None:
    """Pause WORKFLOW's schedule: no run starts until it is resumed."""
    _control("pause", workflow, url, token, as_json)


@schedules.command("resume")
@click.argument("workflow")
@client_options
def resume(workflow: str, url: str, token: str | None, as_json: bool) -> None:
    """Resume WORKFLOW's schedule; runs missed while paused follow its catch-up policy."""
    _control("resume", workflow, url, token, as_json)
