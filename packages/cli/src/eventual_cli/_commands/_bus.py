"""``eventual bus``: the local event bus file, seen from outside any service.

A SQLite bus shared by several services keeps each service's subscriptions
(routes) while the service is stopped, so events wait for it. A service removed
for good would keep collecting deliveries; ``eventual bus forget`` removes them.
These commands open the bus file directly (no service needs to run).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import click
from rich.table import Table

from eventual import EventualError
from eventual.plugins import EventualConfig, load_config
from eventual.sqlite import database_path
from eventual_messaging import LocalBus, ServiceRoutes, SqliteBus

from ._output import Output, json_option

__all__ = ["bus"]


def _bus_file(db: Path | None, config: EventualConfig) -> Path:
    path = db if db is not None else Path.cwd() / database_path(config)
    if not path.is_file():
        # Opening a missing file would create an empty bus.
        raise click.ClickException(f"no event bus file at {path} (pass --db PATH)")
    return path


async def _with_bus(path: Path, work: Callable[[LocalBus], Awaitable[Any]]) -> Any:
    # This is the local SQLite bus by definition (a file), so no plugin lookup.
    async with SqliteBus(path) as opened:
        return await work(opened)


def _run(db: Path | None, work: Callable[[LocalBus], Awaitable[Any]]) -> Any:
    try:
        config = load_config()
        return asyncio.run(_with_bus(_bus_file(db, config), work))
    except (EventualError, sqlite3.DatabaseError) as error:
        raise click.ClickException(str(error)) from None


def _table(rows: list[ServiceRoutes], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("service")
    table.add_column("subscriptions")
    table.add_column("waiting", justify="right")
    table.add_column("dead letters", justify="right")
    for row in rows:
        subscriptions = ", ".join(row.subscriptions) or "-"
        table.add_row(row.service, subscriptions, str(row.waiting), str(row.dead))
    return table


_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The bus file (default: the project's db, .eventual/local.db).",
)


@click.group("bus")
def bus() -> None:
    """Inspect the local event bus file and forget services removed for good."""


@bus.command("services")
@_db_option
@json_option
def services(db: Path | None, as_json: bool) -> None:
    """List the services the bus holds subscriptions or deliveries for."""
    rows: list[ServiceRoutes] = _run(db, lambda b: b.services())
    out = Output(as_json)
    if out.as_json:
        out.json([attrs.asdict(row) for row in rows])
        return
    out.show(_table(rows, "services on the bus"))


@bus.command("forget")
@click.argument("service")
@_db_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def forget(service: str, db: Path | None, yes: bool, as_json: bool) -> None:
    """Remove SERVICE's subscriptions and all its deliveries (dead letters too).

    For a service that will not run again: events published afterwards no
    longer wait for it. If it does run again, it subscribes anew and receives
    the events published from then on.
    """
    if not yes and not click.confirm(
        f"Forget {service!r}: its subscriptions, waiting deliveries and dead letters?"
    ):
        raise click.ClickException("nothing forgotten")
    removed: ServiceRoutes = _run(db, lambda b: b.forget(service))
    out = Output(as_json)
    if out.as_json:
        out.json(attrs.asdict(removed))
        return
    if not removed.subscriptions and not removed.waiting and not removed.dead:
        out.note(f"the bus held nothing for {service!r}")
        return
    out.show(_table([removed], "forgotten"))
