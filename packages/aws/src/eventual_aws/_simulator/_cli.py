"""``eventual local --aws``: a service served from the simulator, with the timeline UI.

The CLI's ``local`` command forwards ``--aws`` to the hidden ``local-aws``
command that eventual-aws's plugin contributes, so the CLI never imports
eventual-aws. Serving (uvicorn, the timeline UI, shutdown on Ctrl-C) is the
CLI's own ``serve_local``, given the simulator as its runtime: the HTTP API is
the service's ``HttpApp`` over the simulator's client, as in ``eventual local``,
while workflows, tasks, timers and subscriptions run in the plan's handlers on
the AWS endpoint. The API function's own path (API Gateway's payload 2.0) is
what ``Simulator.http`` exercises; serving ``HttpApp`` directly keeps the system
API's long-polls and the UI exactly as ``eventual local`` has them.

Importing this module imports click and eventual-cli, which the CLI provides.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from eventual import ServiceLoadError
from eventual.plugins import Plugins, get_plugin_manager, load_config

__all__ = ["local_aws_command"]


def _importable(project: Path) -> None:
    # Like `eventual local` and `python -m`: the project's own code, not installed.
    for folder in (Path.cwd(), project, project / "src"):
        if folder.is_dir() and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


@click.command("local-aws", hidden=True)
@click.option("--service", metavar="MODULE", help="The service module (default: [tool.eventual]).")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to bind.")
@click.option("--port", default=3111, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token", envvar="EVENTUAL_TOKEN", help="Bearer token the system API requires.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option("--endpoint-url", metavar="URL", help="The AWS endpoint [default: moto, started].")
@click.option("--region", default="us-east-1", show_default=True, help="The AWS region.")
def local_aws_command(
    service: str | None,
    host: str,
    port: int,
    token: str | None,
    log_level: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Serve a service from the AWS simulator (``eventual local --aws``)."""
    from eventual_cli import CannotListen, LocalSettings, serve_local

    from .._plan import PlanError, shards_from_config
    from ._simulator import Simulator

    config = load_config(overrides={"service": service}, plugins=Plugins(get_plugin_manager()))
    if config.service is None:
        raise click.UsageError(
            "no service to run: pass --service MODULE, or name it in pyproject.toml "
            '([tool.eventual] service = "orders.service")'
        )
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        raise click.UsageError(
            f"--host {host} makes the system API reachable from other machines, so it needs "
            "a token: pass --token TOKEN or set EVENTUAL_TOKEN"
        )
    _importable(config.config_file.parent if config.config_file is not None else Path.cwd())
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    settings = LocalSettings(service=config.service, host=host, port=port, token=token or None)
    try:
        simulator = Simulator(
            config.service,
            endpoint_url=endpoint_url,
            region=region,
            shards=shards_from_config(config),
        )
    except (ServiceLoadError, PlanError) as error:
        raise click.ClickException(str(error)) from None

    def announce(url: str) -> None:
        click.echo(f"eventual local --aws: service {config.service!r} at {url}")
        click.echo(
            f"  AWS endpoint {simulator.endpoint_url} ({region}), plan {simulator.plan.prefix!r}"
        )
        click.echo(f"  system API {url}/_eventual/  OpenAPI {url}/_eventual/openapi.json")
        click.echo(f"  timeline UI {url}/_eventual/ui/")
        click.echo("  press Ctrl-C to stop")
        sys.stdout.flush()

    try:
        asyncio.run(serve_local(settings, announce=announce, runtime=simulator))
    except CannotListen as error:
        raise click.ClickException(str(error)) from None
    click.echo("eventual local --aws: stopped")
