"""``eventual synth``: turn the project's service into a deploy target's artifact.

Contributed to the ``eventual`` command line by eventual-aws's plugin, so the
CLI depends on no renderer and no renderer repeats the command: each renderer
only registers a deploy target (``eventual_deploy_targets``: ``aws-cdk``,
``pulumi``, ...) and ``--target`` picks one. The command loads the project's
configuration, puts the service's source folder on ``sys.path`` and hands the
target its settings; a target returning files (file name to text) has them
written under ``-o DIR``. The project's index shard counts (``aws_*_shards`` in
``[tool.eventual]``, read as ``eventual plan`` reads them) are the ``shards``
setting, so a deployed service has the shards the project configures. Importing
this module imports click, which the CLI provides.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import click

from eventual import EventualError
from eventual.plugins import Plugins, get_plugin_manager, load_config

from .._bundle import BundleError
from .._plan import shards_from_config

__all__ = ["synth_command"]


@click.command("synth")
@click.option("--target", metavar="NAME", help="The deploy target (default: the only one).")
@click.option(
    "-o",
    "--output",
    "outdir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the artifact (aws-cdk: the cloud assembly, default cdk.out; "
    "a target that returns files, such as pulumi: default a folder named after it).",
)
@click.option("--service", metavar="MODULE", help="The service module (default: [tool.eventual]).")
@click.option(
    "--source-dir",
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The folder the service imports from (default: the project's src, or the project).",
)
@click.option("--stack", metavar="NAME", help="The stack's name (default: the prefix or service).")
@click.option("--prefix", metavar="P", help="Start of the physical AWS names.")
@click.option("--event-bus", metavar="NAME", help="Publish and subscribe on this existing bus.")
@click.option("--offline", is_flag=True, help="Bundle from the package cache only.")
def synth_command(
    target: str | None,
    outdir: Path | None,
    service: str | None,
    source_dir: Path | None,
    stack: str | None,
    prefix: str | None,
    event_bus: str | None,
    offline: bool,
) -> None:
    """Synthesize the service for a deploy target (aws-cdk: a cloud assembly; pulumi: a project)."""
    plugins = Plugins(get_plugin_manager())
    config = load_config(overrides={"service": service}, plugins=plugins)
    if config.service is None:
        raise click.UsageError(
            "no service to synthesize: pass --service MODULE, or name it in pyproject.toml "
            '([tool.eventual] service = "orders.service")'
        )
    targets = plugins.deploy_targets()
    if target is None:
        if len(targets) != 1:
            raise click.UsageError(
                f"choose a deploy target with --target: {', '.join(sorted(targets)) or 'none'}"
            )
        (target,) = targets
    project = config.config_file.parent if config.config_file is not None else Path.cwd()
    source = source_dir or default_source_dir(project)
    try:
        shards = shards_from_config(config)
    except EventualError as error:
        raise click.ClickException(str(error)) from None
    settings: dict[str, object] = {
        "outdir": str(outdir) if outdir else None,
        "source_dir": str(source),
        "stack": stack,
        "prefix": prefix,
        "event_bus": event_bus,
        "offline": offline,
        "shards": shards,
    }
    if str(source) not in sys.path:
        sys.path.insert(0, str(source))
    try:
        artifact = plugins.deploy_target(target).synthesize(config.service, settings)
    except (EventualError, BundleError) as error:
        raise click.ClickException(str(error)) from None
    if isinstance(artifact, Mapping):
        # A target that returns files (a Pulumi program, say) has them written out.
        folder = outdir or Path(target)
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in artifact.items():
            path = folder / str(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(str(text))
        artifact = folder
    click.echo(f"{target}: {config.service} synthesized to {artifact}")


def default_source_dir(project: Path) -> Path:
    """Return the folder a project's service imports from: ``src`` when it has one."""
    return project / "src" if (project / "src").is_dir() else project
