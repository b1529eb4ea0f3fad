"""``eventual bus``: a durable event bus, seen from outside any service.

A bus shared by several services keeps each service's subscriptions (routes)
while the service is stopped, so events wait for it. A service removed for good
would keep collecting deliveries; ``eventual bus forget`` removes them. These
commands open the bus directly (no service needs to run): the SQLite file
(``--db``), or with ``--event-bus NAME`` (and ``--dsn``) the bus a plugin
provides under that name, configured as ``eventual local`` configures it.
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
from eventual.plugins import EventualConfig, Plugins, get_plugin_manager, load_config
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


@attrs.frozen
class Storage:
    """The flags naming a bus other than the SQLite file; unset ones are None."""

    event_bus: str | None = None
    dsn: str | None = None

    @property
    def given(self) -> bool:
        """Whether any was given."""
        return self.event_bus is not None or self.dsn is not None


async def _with_named_bus(
    config: EventualConfig, work: Callable[[LocalBus], Awaitable[Any]]
) -> Any:
    name = config.event_bus or config.backend
    bus = Plugins(get_plugin_manager()).event_bus(name).create(config)
    if not isinstance(bus, LocalBus):
        raise EventualError(
            f"event bus {name!r} keeps its subscriptions elsewhere than eventual-messaging's "
            "stores, so `eventual bus` cannot read it"
        )
    await bus.open()
    try:
        return await work(bus)
    finally:
        await bus.close()


def _run(
    db: Path | None, work: Callable[[LocalBus], Awaitable[Any]], store: Storage | None = None
) -> Any:
    store = store or Storage()
    if db is not None and store.given:
        raise click.UsageError("open one bus: --db PATH, or --event-bus NAME (with --dsn)")
    try:
        if not store.given:
            return asyncio.run(_with_bus(_bus_file(db, load_config()), work))
        config = load_config(
            overrides={"event_bus": store.event_bus, "dsn": store.dsn},
            plugins=Plugins(get_plugin_manager()),
        )
        if store.event_bus is None and config.event_bus is None and config.backend == "sqlite":
            raise click.UsageError(
                "--dsn names the database of a server bus: add --event-bus NAME "
                '(e.g. --event-bus postgres) or set event-bus = "..." under [tool.eventual]'
            )
        return asyncio.run(_with_named_bus(config, work))
    except (EventualError, sqlite3.DatabaseError) as error:
        raise click.ClickException(str(error)) from None
    except click.ClickException:
        raise
    except Exception as error:  # a plugin's driver has errors of its own (psycopg's, ...)
        raise click.ClickException(f"event bus: {error}") from None


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
_bus_option = click.option(
    "--event-bus",
    metavar="NAME",
    help="Open this event bus, as a plugin names it (e.g. postgres), configured as for "
    "`eventual local` ([tool.eventual], the environment, --dsn).",
)
_dsn_option = click.option(
    "--dsn",
    metavar="URL",
    help="The database of a server bus (e.g. postgresql://user@host/db).",
)


@click.group("bus")
def bus() -> None:
    """Inspect the local event bus file and forget services removed for good."""


@bus.command("services")
@_db_option
@_bus_option
@_dsn_option
@json_option
def services(db: Path | None, event_bus: str | None, dsn: str | None, as_json: bool) -> None:
    """List the services the bus holds subscriptions or deliveries for."""
    rows: list[ServiceRoutes] = _run(db, lambda b: b.services(), Storage(event_bus, dsn))
    out = Output(as_json)
    if out.as_json:
        out.json([attrs.asdict(row) for row in rows])
        return
    out.show(_table(rows, "services on the bus"))


@bus.command("forget")
@click.argument("service")
@_db_option
@_bus_option
@_dsn_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def forget(
    service: str,
    db: Path | None,
    event_bus: str | None,
    dsn: str | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Remove SERVICE's subscriptions and all its deliveries (dead letters too).

    For a service that will not run again: events published afterwards no
    longer wait for it. If it does run again, it subscribes anew and receives
    the events published from then on.
    """
    if not yes and not click.confirm(
        f"Forget {service!r}: its subscriptions, waiting deliveries and dead letters?"
    ):
        raise click.ClickException("nothing forgotten")
    removed: ServiceRoutes = _run(db, lambda b: b.forget(service), Storage(event_bus, dsn))
    out = Output(as_json)
    if out.as_json:
        out.json(attrs.asdict(removed))
        return
    if not removed.subscriptions and not removed.waiting and not removed.dead:
        out.note(f"the bus held nothing for {service!r}")
        return
    out.show(_table([removed], "forgotten"))
