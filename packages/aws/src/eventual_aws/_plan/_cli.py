"""``eventual plan``: print a service's plan, as a summary or as JSON.

Contributed to the ``eventual`` command line by eventual-aws's plugin, so the CLI
does not depend on eventual-aws. Importing this module imports click, which the
CLI provides.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from eventual import ServiceLoadError
from eventual.plugins import Plugins, get_plugin_manager, load_config

from ._access import SHARDS
from ._build import plan
from ._names import PlanError
from ._summary import summary

__all__ = ["plan_command"]


def _importable(project: Path) -> None:
    # Like `eventual local` and `python -m`: the project's own code, not installed.
    for folder in (Path.cwd(), project, project / "src"):
        if folder.is_dir() and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


def _shards(options: Mapping[str, object]) -> dict[str, int]:
    """Return the ``aws_*_shards`` options of ``[tool.eventual]`` as the plan's shard counts."""
    shards: dict[str, int] = {}
    for name in SHARDS:
        value = options.get(f"aws_{name}")
        if value is None or value == "":
            continue
        try:
            shards[name] = int(str(value))
        except ValueError:
            raise click.UsageError(f"aws_{name} must be an integer, got {value!r}") from None
    return shards


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
            config.service, prefix=prefix, event_bus=event_bus, shards=_shards(config.options)
        )
    except (PlanError, ServiceLoadError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(summary(result), nl=False)
