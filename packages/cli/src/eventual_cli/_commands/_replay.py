"""``eventual replay``: run the local workflow code against a recorded history.

The history comes from a running service (``--url``), straight from a SQLite
file (``--db``, e.g. a copy of a production database), straight from the store
of any backend a plugin provides (``--backend NAME``, e.g. ``postgres`` with
``--dsn``, configured as ``eventual local`` is), or from a document ``eventual
export`` wrote (``--file``). Replay runs the executor only: no task
runs, nothing is published or written. ``--break-at SEQ`` stops in the debugger
(``breakpoint()``, so ``PYTHONBREAKPOINT`` picks it) when the code makes that call.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import attrs
import click
from rich.table import Table
from rich.text import Text

from eventual import EventualError, Service, ServiceLoadError
from eventual.history import HistoryEvent, WorkflowStarted, history_event_from_json
from eventual.plugins import EventualConfig, Plugins, get_plugin_manager, load_config
from eventual.sqlite import database_path
from eventual_engine import ReplayResult, history_from_json, replay

from .._local import _importable
from ._api import DEFAULT_URL, SystemClient
from ._output import Output, json_option, sigv4_choice, sigv4_option
from ._render import status_text

__all__ = ["load_history", "replay_command", "show_result"]


@attrs.frozen(kw_only=True)
class Source:
    """Where a recorded history is read from: one of url, db, backend and file."""

    url: str | None = None
    token: str | None = None
    sigv4: bool | None = None
    db: Path | None = None
    backend: str | None = None
    file: Path | None = None


def _from_file(path: Path) -> list[HistoryEvent]:
    if str(path) == "-":
        return history_from_json(sys.stdin.read(), source="standard input")
    try:
        text = path.read_bytes()
    except OSError as error:
        raise click.ClickException(f"cannot read {path}: {error.strerror or error}") from None
    return history_from_json(text, source=path)


async def _from_backend(config: EventualConfig, execution_id: str) -> list[HistoryEvent]:
    # The backend comes from its plugin, like LocalRuntime's; replay only reads.
    backend = Plugins(get_plugin_manager()).backend(config.backend).create(config)
    try:
        await backend.open()
        return await backend.executions.history(execution_id)
    finally:
        await backend.close()


def _from_db(path: Path, execution_id: str, config: EventualConfig) -> list[HistoryEvent]:
    if not path.is_file():
        # Opening a missing file would create an empty database.
        raise click.ClickException(f"no database file at {path}")
    # Read-only: SQLite refuses every write, so the file (perhaps a copy of
    # production) is never migrated or otherwise changed by a replay.
    config = attrs.evolve(
        config,
        backend="sqlite",
        db=str(path.absolute()),
        options={**config.options, "sqlite_read_only": "true"},
    )
    try:
        events = asyncio.run(_from_backend(config, execution_id))
    except (sqlite3.DatabaseError, EventualError) as error:
        raise click.ClickException(str(error)) from None
    if not events:
        raise click.ClickException(f"{path} holds no execution {execution_id!r}")
    return events


def _from_store(backend: str, execution_id: str, config: EventualConfig) -> list[HistoryEvent]:
    if backend == "sqlite":
        return _from_db(Path.cwd() / database_path(config), execution_id, config)
    config = attrs.evolve(config, backend=backend)
    try:
        events = asyncio.run(_from_backend(config, execution_id))
    except EventualError as error:
        raise click.ClickException(str(error)) from None
    except Exception as error:  # a plugin's driver has errors of its own (psycopg's, ...)
        raise click.ClickException(f"backend {backend!r}: {error}") from None
    if not events:
        raise click.ClickException(f"backend {backend!r} holds no execution {execution_id!r}")
    return events


def load_history(
    source: Source, execution_id: str | None, config: EventualConfig
) -> tuple[str, list[HistoryEvent]]:
    """Return the execution id and its recorded history from ``source``.

    Raises:
        click.ClickException: The history cannot be read, or is not ``execution_id``'s.
    """
    if source.file is not None:
        events = _from_file(source.file)
    elif execution_id is None:
        raise click.UsageError("give the execution ID (only --file can do without it)")
    elif source.db is not None:
        events = _from_db(source.db, execution_id, config)
    elif source.backend is not None:
        events = _from_store(source.backend, execution_id, config)
    else:
        with SystemClient(source.url or DEFAULT_URL, source.token, sigv4=source.sigv4) as client:
            events = [history_event_from_json(event) for event in client.history(execution_id)]
    if not events or not isinstance(events[0], WorkflowStarted):
        raise click.ClickException("the history does not begin with WorkflowStarted")
    recorded = events[0].execution_id
    if execution_id is not None and execution_id != recorded:
        raise click.ClickException(
            f"the history is that of {recorded!r}, not {execution_id!r}; "
            "drop ID to replay whatever the file holds"
        )
    return recorded, events


def _service(module: str | None, config: EventualConfig) -> Service:
    if module is None:
        module = config.service
    if module is None:
        raise click.UsageError(
            "no service to replay against: pass --service MODULE, or name it in "
            'pyproject.toml ([tool.eventual] service = "orders.service")'
        )
    project = config.config_file.parent if config.config_file is not None else Path.cwd()
    _importable(project)
    try:
        return Service.load(module)
    except ServiceLoadError as error:
        raise click.ClickException(str(error)) from None


def _as_json(result: ReplayResult) -> dict[str, Any]:
    data = attrs.asdict(result)
    data["ok"] = result.ok
    data["recorded_status"] = result.recorded_status.value
    data["status"] = result.status.value
    data["error"] = list(result.error) if result.error else None
    data["patches"] = list(result.patches)
    return data


def show_result(out: Output, result: ReplayResult) -> None:
    """Print a replay's outcome: success, the first divergence, or the different outcome."""
    if out.as_json:
        out.json(_as_json(result))
        return
    if result.ok:
        out.show(
            Text.assemble(
                ("✓ ", "bold green"),
                (result.execution_id, "bold"),
                f": replayed {result.events} events; the code makes the recorded calls "
                "and reaches the recorded outcome, ",
                status_text(result.status.value),
            )
        )
        _show_patches(out, result)
        return
    if result.error_seq is not None:
        title = f"✗ {result.execution_id} diverges at seq {result.error_seq}"
        table = Table()
        table.add_column("seq", justify="right")
        table.add_column("recorded", style="green")
        table.add_column("now", style="red")
        table.add_row(str(result.error_seq), result.recorded_call or "", result.new_call or "")
    else:
        title = f"✗ {result.execution_id} ends differently"
        table = Table()
        table.add_column("", style="bold")
        table.add_column("recorded", style="green")
        table.add_column("now", style="red")
        now = result.status.value
        if result.error is not None:
            now += f" ({result.error[0]}: {result.error[1]})"
        elif result.status.value == "SUCCEEDED":
            now += f" ({json.dumps(result.result)})"
        table.add_row("outcome", result.recorded_status.value, now)
    out.show(Text(title, style="bold red"), line=True)
    out.show(table)
    out.show(Text(result.problem or ""))
    _show_patches(out, result)


def _show_patches(out: Output, result: ReplayResult) -> None:
    if result.patches:
        out.show(Text.assemble(("patches taken: ", "bold"), ", ".join(result.patches)))
    else:
        out.show(Text("patches taken: none", style="dim"))


@click.command("replay")
@click.argument("execution_id", metavar="ID", required=False)
@click.option(
    "--url",
    metavar="URL",
    help=f"Read the history from this service [default: EVENTUAL_URL, or {DEFAULT_URL}].",
)
@click.option(
    "--token", envvar="EVENTUAL_TOKEN", help="Bearer token for --url (env EVENTUAL_TOKEN)."
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the history from this SQLite file (e.g. .eventual/local.db).",
)
@click.option(
    "--backend",
    metavar="NAME",
    help="Read the history from this backend's store, as a plugin names it (e.g. postgres), "
    "configured as for `eventual local` ([tool.eventual], the environment, --dsn).",
)
@click.option(
    "--dsn",
    metavar="URL",
    help="The database of a server backend (e.g. postgresql://user@host/db); "
    "reads from the configured backend unless --backend names one.",
)
@click.option(
    "--file",
    "history_file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Read the history from a file `eventual export` wrote (`-`: standard input).",
)
@click.option("--service", metavar="MODULE", help="The local service (default: [tool.eventual]).")
@click.option(
    "--break-at",
    type=click.IntRange(1),
    metavar="SEQ",
    help="Stop in the debugger when the code makes the call with this sequence number.",
)
@sigv4_option
@json_option
def replay_command(
    execution_id: str | None,
    url: str | None,
    token: str | None,
    db: Path | None,
    backend: str | None,
    dsn: str | None,
    history_file: Path | None,
    service: str | None,
    break_at: int | None,
    as_json: bool,
) -> None:
    """Replay the execution ID's recorded history against the local code.

    Exit status 0 when the code reproduces the recorded calls and outcome, 1 when
    it diverges (the first divergence is shown with the recorded and new call).
    """
    store = backend is not None or dsn is not None
    places = (url is not None, db is not None, store, history_file is not None)
    if sum(places) > 1:
        raise click.UsageError(
            "read the history from one place: --url, --db, --backend (with --dsn) or --file"
        )
    # EVENTUAL_URL is only the default place: it must not clash with the others.
    url = url or os.environ.get("EVENTUAL_URL") or DEFAULT_URL
    try:
        config = load_config(
            overrides={"service": service, "backend": backend, "dsn": dsn},
            plugins=Plugins(get_plugin_manager()),
        )
        if store and dsn is not None and backend is None and config.backend == "sqlite":
            raise click.UsageError(
                "--dsn names the database of a server backend: add --backend NAME "
                '(e.g. --backend postgres) or set backend = "..." under [tool.eventual]'
            )
        source = Source(
            url=url,
            token=token,
            sigv4=sigv4_choice(),
            db=db,
            backend=config.backend if store else None,
            file=history_file,
        )
        _, history = load_history(source, execution_id, config)
        loaded = _service(service, config)
        result = replay(loaded, history, break_at=break_at)
    except EventualError as error:
        raise click.ClickException(str(error)) from None
    out = Output(as_json)
    show_result(out, result)
    if break_at is not None and result.stopped_at is None:
        out.note(
            f"--break-at {break_at}: the code never made the call with sequence number "
            f"{break_at}, so the debugger did not stop (`eventual history ID` shows each seq)"
        )
    if not result.ok:
        raise click.exceptions.Exit(1)
