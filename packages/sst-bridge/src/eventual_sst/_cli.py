"""``eventual sst add`` and ``eventual sst bundle``: a service in the SST app of this folder.

Contributed to the ``eventual`` command line by eventual-sst's plugin, so the CLI
does not depend on eventual-sst. Importing this module imports click, which the
CLI provides.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from eventual import EventualError
from eventual.plugins import Plugins, get_plugin_manager, load_config

from ._bundle import bundle_folder, default_source_dir
from ._component import COMPONENT_FILE, add_service

__all__ = ["sst_group"]


@click.group("sst")
def sst_group() -> None:
    """Mix a service into an SST v3 app (https://sst.dev)."""


@sst_group.command("add")
@click.option(
    "--service",
    metavar="MODULE",
    help="The service module (default: the project's [tool.eventual]).",
)
@click.option(
    "--name",
    metavar="NAME",
    help="The SST resource name, Resource.<NAME> (default: from the service).",
)
@click.option(
    "--path",
    "service_dir",
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The service's project folder (default: the folder of the pyproject.toml naming it).",
)
@click.option(
    "--component",
    metavar="FILE",
    default=COMPONENT_FILE,
    show_default=True,
    help="Where to write the component, from the app's root.",
)
def add_command(
    service: str | None, name: str | None, service_dir: Path | None, component: str
) -> None:
    """Write the EventualService component into this SST app and say how to use it."""
    app_dir = Path.cwd()
    if not (app_dir / "sst.config.ts").is_file():
        raise click.UsageError(
            "no sst.config.ts here: run `eventual sst add` in the SST app's root"
        )
    try:
        config = load_config(
            service_dir, overrides={"service": service}, plugins=Plugins(get_plugin_manager())
        )
    except EventualError as error:
        raise click.ClickException(str(error)) from None
    if config.service is None:
        raise click.UsageError(
            "no service to add: pass --service MODULE (and --path DIR), or run in an app whose "
            'service\'s pyproject.toml names it ([tool.eventual] service = "orders.service")'
        )
    if service_dir is None:
        service_dir = config.config_file.parent if config.config_file is not None else app_dir
    try:
        added = add_service(
            app_dir, service=config.service, service_dir=service_dir, name=name, component=component
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    verb = "wrote" if added.changed else "up to date:"
    click.echo(f"{verb} {added.component.relative_to(app_dir.resolve())}")
    click.echo("Add to run() in sst.config.ts:\n")
    for line in added.lines:
        click.echo(f"  {line}")


@sst_group.command("bundle")
@click.option(
    "--service",
    metavar="MODULE",
    help="The service module (default: the project's [tool.eventual]).",
)
@click.option("--prefix", metavar="P", help="Start of the physical AWS names (as the plan's).")
@click.option("--event-bus", metavar="NAME", help="The existing bus the plan uses, if any.")
@click.option("--offline", is_flag=True, help="Bundle from the package cache only.")
def bundle_command(
    service: str | None, prefix: str | None, event_bus: str | None, offline: bool
) -> None:
    """Build the service's Lambda code folder and print where it is (the component runs this)."""
    from eventual_aws import BundleError, BundleOptions, PlanError, plan, shards_from_config

    config = load_config(overrides={"service": service}, plugins=Plugins(get_plugin_manager()))
    if config.service is None:
        raise click.UsageError(
            "no service to bundle: pass --service MODULE, or name it in pyproject.toml "
            '([tool.eventual] service = "orders.service")'
        )
    project = config.config_file.parent if config.config_file is not None else Path.cwd()
    source = default_source_dir(project)
    if str(source) not in sys.path:
        sys.path.insert(0, str(source))
    try:
        # The plan `eventual plan` prints for the component, shards and all.
        service_plan = plan(
            config.service,
            prefix=prefix,
            event_bus=event_bus,
            shards=shards_from_config(config),
        )
        folder = bundle_folder(service_plan, source, options=BundleOptions(offline=offline))
    except (EventualError, PlanError, BundleError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(str(folder))
