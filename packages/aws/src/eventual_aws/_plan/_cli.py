"""``eventual plan``: print a service's plan, as a summary or as JSON.

Contributed to the ``eventual`` command line by eventual-aws's plugin, so the CLI
does not depend on eventual-aws. Importing this module imports click, which the
CLI provides.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from eventual import ServiceLoadError
from eventual.plugins import Plugins, get_plugin_manager, load_config

from ._build import plan
from ._names import PlanError
from ._settings import shards_from_config
from ._summary import summary

__all__ = ["plan_command"]


def _importable(project: Path) -> None:
    # Like `eventual local` and `python -m`: the project's own code, not installed.
    for folder in (Path.cwd(), project, project / "src"):
        if folder.is_dir() and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


@click.command("plan")
@click.option("--service", metavar="MODULE", help="The service module (default: [tool.eventual]).")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the plan's JSON (ServicePlan.to_json)."
)
@click.option(
    "--prefix",
    metavar="P",
    help="Start of the physical AWS names (default: the service's name).",
)
@click.option(
    "--event-bus",
    metavar="NAME",
    help="Publish and subscribe on this existing EventBridge bus (default: the service's own).",
)
def plan_command(
    service: str | None, as_json: bool, prefix: str | None, event_bus: str | None
) -> None:
    """Show what a service needs on AWS: functions, queues, rules, routes."""
    config = load_config(overrides={"service": service}, plugins=Plugins(get_plugin_manager()))
    if config.service is None:
        raise click.UsageError(
            "no service to plan: pass --service MODULE, or name it in pyproject.toml "
            '([tool.eventual] service = "orders.service")'
        )
    _importable(config.config_file.parent if config.config_file is not None else Path.cwd())
    try:
        result = plan(
            config.service, prefix=prefix, event_bus=event_bus, shards=shards_from_config(config)
        )
    except (PlanError, ServiceLoadError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(summary(result), nl=False)
