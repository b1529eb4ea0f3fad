"""``eventual local``: a whole service on this machine, over HTTP, until Ctrl-C.

One process runs the service's ``LocalRuntime`` (workers, timers,
subscriptions) on the embedded SQLite file and serves its ``HttpApp`` on
uvicorn. Shutdown on SIGINT or SIGTERM happens in order: the server stops
accepting requests, answers held long-polls at once with the current state and
finishes the other requests in progress, then the runtime stops,
giving running task attempts a grace period; attempts still running after it
are abandoned, and their leases lapse so that the next start runs them again
(tasks are at-least-once). A second Ctrl-C stops the server without waiting
for open requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import traceback
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import attrs
import click
import uvicorn

from eventual import EventualError, Service, ServiceLoadError
from eventual.plugins import Plugins, get_plugin_manager, load_config
from eventual.sqlite import DEFAULT_DB, database_path
from eventual_engine import HttpApp, HttpOptions, LocalRuntime

from ._ui import UI_PATH, UiApp

__all__ = [
    "DEFAULT_DB",
    "LOOPBACK_HOSTS",
    "CannotListen",
    "LocalSettings",
    "ServedRuntime",
    "http_options",
    "local",
    "serve_local",
]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

log = logging.getLogger("eventual.local")


@attrs.frozen(kw_only=True)
class LocalSettings:
    """What ``eventual local`` runs, once flags and configuration are merged.

    Attributes:
        service: The service: a module path, or a ``Service``.
        host: The address to bind.
        port: The port to bind (0 picks a free one).
        db: The SQLite file.
        token: The system API's bearer token, if any.
        backend: The runtime backend's name.
        event_bus: The event bus's name, or None for the default.
        options: Further settings passed to backends and buses.
    """

    service: str | Service
    host: str = "127.0.0.1"
    port: int = 3111
    db: Path = DEFAULT_DB
    token: str | None = None
    backend: str | None = None
    event_bus: str | None = None
    options: Mapping[str, object] = attrs.field(factory=dict)


class CannotListen(OSError):
    """The HTTP server could not bind its address (a port in use, an unknown host)."""


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handling: ``serve_local`` owns SIGINT and SIGTERM.

    uvicorn re-raises a captured signal once it has stopped, which would interrupt
    the runtime's own shutdown with a KeyboardInterrupt. It also ends the process
    (``sys.exit``) when it cannot bind; here that becomes ``CannotListen``.
    """

    listening: asyncio.Event
    bind_error: BaseException | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        except SystemExit as exit_:
            self.bind_error = exit_.__context__ or exit_
            self.should_exit = True
        self.listening.set()


def http_options(settings: LocalSettings) -> HttpOptions:
    """Return the HTTP options of ``eventual local`` for its bind address.

    On a loopback address only loopback host names are answered, so that a web
    page whose name is rebound to 127.0.0.1 (DNS rebinding) cannot read or drive
    the service; off loopback a token is required instead (see ``_settings``).
    """
    hosts = HttpOptions.LOOPBACK_HOSTS if settings.host in LOOPBACK_HOSTS else None
    return HttpOptions(token=settings.token, allowed_hosts=hosts)


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class ServedRuntime(Protocol):
    """A runtime ``serve_local`` can serve: an async context manager handing out its engine.

    ``LocalRuntime`` is one; a plugin's runtime (eventual-aws's simulator, for
    ``eventual local --aws``) is another.
    """

    @property
    def service(self) -> Service:
        """The service it runs."""

    @property
    def engine(self) -> Any:
        """The running engine or client (only inside ``async with``), as ``HttpApp`` serves it."""

    async def __aenter__(self) -> object:
        """Start the runtime."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> object:
        """Stop the runtime."""


async def serve_local(
    settings: LocalSettings,
    *,
    announce: Callable[[str], None] | None = None,
    runtime: ServedRuntime | None = None,
) -> None:
    """Run the service and its HTTP API until SIGINT or SIGTERM.

    Args:
        settings: What to run and where.
        announce: Called with the base URL once the server listens.
        runtime: What runs the service; by default a ``LocalRuntime`` built
            from ``settings`` (its file, backend, bus and options).

    Raises:
        CannotListen: The address could not be bound (e.g. the port is in use).
        ServiceLoadError: The service could not be imported.
    """
    served: ServedRuntime = (
        runtime
        if runtime is not None
        else LocalRuntime(
            settings.service,
            db=settings.db,
            backend=settings.backend,
            event_bus=settings.event_bus,
            settings=dict(settings.options),
        )
    )
    async with served:
        http_app = HttpApp(served, options=http_options(settings))
        config = uvicorn.Config(
            UiApp(http_app),
            host=settings.host,
            port=settings.port,
            lifespan="off",
            log_config=None,
            access_log=False,
        )
        server = _Server(config)
        server.listening = asyncio.Event()
        loop = asyncio.get_running_loop()
        handled = (signal.SIGINT, signal.SIGTERM)

        def stop(signum: int) -> None:
            http_app.close()  # long-polls answer now, instead of holding the shutdown
            server.handle_exit(signum, None)

        for signum in handled:
            loop.add_signal_handler(signum, stop, signum)
        try:
            serving = asyncio.create_task(server.serve(), name="eventual local http")
            listening = asyncio.create_task(server.listening.wait())
            await asyncio.wait([listening, serving], return_when=asyncio.FIRST_COMPLETED)
            listening.cancel()
            if server.started and announce is not None:
                port = settings.port
                if port == 0:
                    port = server.servers[0].sockets[0].getsockname()[1]
                announce(_url(settings.host, port))
            await serving
            if server.bind_error is not None:
                raise CannotListen(
                    f"cannot listen on {_url(settings.host, settings.port)}: "
                    f"{server.bind_error}; pick another --port (or stop what uses it)"
                )
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)
        log.info("HTTP server stopped; stopping the runtime (in-flight tasks get a grace period)")
    log.info("stopped")


def _settings(
    service: str | None,
    host: str,
    port: int,
    db: Path | None,
    token: str | None,
    storage: Mapping[str, str | None] | None = None,
    tuning: Mapping[str, int | None] | None = None,
) -> tuple[LocalSettings, Path]:
    """Merge flags with the configuration; return the settings and the project folder.

    ``storage`` holds the flags choosing where state lives (``backend``,
    ``event_bus``, ``dsn``), ``tuning`` the engine's (``task_concurrency``,
    ``task_threads``); unset ones are None.
    """
    config = load_config(
        overrides={
            "service": service,
            "db": None if db is None else str(db.absolute()),
            **(storage or {}),
            **(tuning or {}),
        },
        plugins=Plugins(get_plugin_manager()),
    )
    if config.service is None:
        raise click.UsageError(
            "no service to run: pass --service MODULE, or name it in pyproject.toml "
            '([tool.eventual] service = "orders.service")'
        )
    if token is not None and not token.strip():
        raise click.UsageError(
            "--token (or EVENTUAL_TOKEN) is blank; pass a real token, or leave it unset"
        )
    if host not in LOOPBACK_HOSTS and not token:
        raise click.UsageError(
            f"--host {host} makes the system API (/_eventual/: start, cancel, signal, ...) "
            "reachable from other machines, so it needs a token: pass --token TOKEN or set "
            "EVENTUAL_TOKEN (clients send `Authorization: Bearer TOKEN`)"
        )
    project = config.config_file.parent if config.config_file is not None else Path.cwd()
    settings = LocalSettings(
        service=config.service,
        host=host,
        port=port,
        db=Path.cwd() / database_path(config),
        token=token or None,
        backend=config.backend,
        event_bus=config.event_bus,
        options=config.options,
    )
    return settings, project


def _show_import_failure(exc: ServiceLoadError) -> None:
    """Print the traceback of an error raised by the service's own code while importing.

    A module that is simply not found needs no traceback; any other error (a
    syntax error, an exception, a missing dependency) is the user's to fix, and
    the traceback shows where.
    """
    cause = exc.__cause__
    if cause is None:
        return
    if isinstance(cause, ModuleNotFoundError) and cause.name is not None:
        service = exc.name or ""
        if service == cause.name or service.startswith(cause.name + "."):
            return
    click.echo("".join(traceback.format_exception(cause)).rstrip(), err=True)


def _importable(project: Path) -> None:
    # Like `python -m`, run the project's own code without installing it first.
    for folder in (Path.cwd(), project, project / "src"):
        if folder.is_dir() and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


@click.command("local")
@click.option("--service", metavar="MODULE", help="The service module (default: [tool.eventual]).")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to bind.")
@click.option(
    "--port", default=3111, show_default=True, type=click.IntRange(0, 65535), help="The port."
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The SQLite file [default: .eventual/local.db beside pyproject.toml].",
)
@click.option(
    "--backend",
    metavar="NAME",
    help="The runtime backend, as a plugin names it (default: [tool.eventual], else sqlite).",
)
@click.option(
    "--event-bus",
    metavar="NAME",
    help="The event bus (default: [tool.eventual], else the backend's own or sqlite).",
)
@click.option(
    "--dsn",
    metavar="URL",
    help="The database of a server backend, e.g. postgresql://user@host/db for postgres.",
)
@click.option(
    "--task-concurrency",
    type=click.IntRange(1, 100_000),
    help="Most task attempts running at once [default: [tool.eventual], else 64].",
)
@click.option(
    "--task-threads",
    type=click.IntRange(1, 100_000),
    help="Most plain def task bodies running at once [default: [tool.eventual], "
    "else min(32, cores + 4)].",
)
@click.option(
    "--token",
    envvar="EVENTUAL_TOKEN",
    help="Bearer token the system API requires (env EVENTUAL_TOKEN); needed off 127.0.0.1.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option(
    "--aws",
    is_flag=True,
    help="Run on the AWS runtime in eventual-aws's simulator (a local AWS endpoint).",
)
@click.option(
    "--endpoint-url",
    metavar="URL",
    help="With --aws: the AWS endpoint (LocalStack, a moto server) [default: moto, started].",
)
@click.pass_context
def local(
    ctx: click.Context,
    service: str | None,
    host: str,
    port: int,
    db: Path | None,
    backend: str | None,
    event_bus: str | None,
    dsn: str | None,
    task_concurrency: int | None,
    task_threads: int | None,
    token: str | None,
    log_level: str,
    aws: bool,
    endpoint_url: str | None,
) -> None:
    """Run a whole service locally: HTTP API, workers, timers, subscriptions.

    State is kept in a SQLite file across restarts. Ctrl-C stops it cleanly.
    With --aws the service runs on the AWS runtime instead, on a local AWS
    endpoint, through the plan's handlers (eventual-aws's simulator).
    """
    storage = {"backend": backend, "event_bus": event_bus, "dsn": dsn}
    tuning = {"task_concurrency": task_concurrency, "task_threads": task_threads}
    if aws:
        flags = {**storage, **tuning}
        given = [f"--{flag.replace('_', '-')}" for flag, value in flags.items() if value]
        if given:
            raise click.UsageError(f"{', '.join(given)} cannot be combined with --aws")
        _local_aws(ctx, service, host, port, db, token, log_level, endpoint_url)
        return
    if endpoint_url is not None:
        raise click.UsageError("--endpoint-url names the AWS endpoint of --aws; add --aws")
    try:
        settings, project = _settings(service, host, port, db, token, storage, tuning)
    except EventualError as exc:
        raise click.ClickException(str(exc)) from None
    _importable(project)
    config_service = settings.service
    on_file = settings.backend in (None, "sqlite")
    if on_file:
        settings.db.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )

    def announce(url: str) -> None:
        click.echo(f"eventual local: service {config_service!r} at {url}")
        click.echo(f"  state in {settings.db}" if on_file else f"  state in {settings.backend}")
        click.echo(f"  system API {url}/_eventual/  OpenAPI {url}/_eventual/openapi.json")
        click.echo(f"  timeline UI {url}{UI_PATH}/")
        click.echo("  press Ctrl-C to stop")
        sys.stdout.flush()

    try:
        asyncio.run(serve_local(settings, announce=announce))
    except ServiceLoadError as exc:
        _show_import_failure(exc)
        raise click.ClickException(str(exc)) from None
    except CannotListen as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("eventual local: stopped")


AWS_VARIANT = "local-aws"
"""The command a plugin contributes to serve ``eventual local --aws`` (eventual-aws does).

It takes the options ``service``, ``host``, ``port``, ``token``, ``log_level``
and ``endpoint_url`` of ``eventual local``, so the CLI needs no import of the
plugin's distribution.
"""


def _local_aws(
    ctx: click.Context,
    service: str | None,
    host: str,
    port: int,
    db: Path | None,
    token: str | None,
    log_level: str,
    endpoint_url: str | None,
) -> None:
    if db is not None:
        raise click.UsageError("--db has no effect with --aws: the state lives on the AWS endpoint")
    group = ctx.parent.command if ctx.parent is not None else None
    variant = (
        group.get_command(ctx.parent, AWS_VARIANT)
        if isinstance(group, click.Group) and ctx.parent is not None
        else None
    )
    if variant is None:
        raise click.ClickException(
            "eventual local --aws runs the service on the AWS simulator of eventual-aws, "
            "which is not installed: pip install 'eventual-aws[simulator]'"
        )
    ctx.invoke(
        variant,
        service=service,
        host=host,
        port=port,
        token=token,
        log_level=log_level,
        endpoint_url=endpoint_url,
    )
