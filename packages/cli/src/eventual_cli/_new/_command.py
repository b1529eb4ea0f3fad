"""``eventual new NAME``: write a ready project from a template."""

from __future__ import annotations

from pathlib import Path

import click

from ._project import TEMPLATES, NewProject, ProjectExists, TemplateUnavailable, write_project

__all__ = ["NEXT_STEPS", "new"]

NEXT_STEPS = {
    "local": ('pip install -e ".[dev]"', "pytest", "eventual local"),
    "cdk": ('pip install -e ".[dev,deploy]"', "pytest", "npx aws-cdk@2 deploy"),
    "pulumi": ('pip install -e ".[dev,deploy]"', "pytest", "pulumi up"),
    "sst": ('pip install -e ".[dev,deploy]" && npm install', "pytest", "npx sst deploy"),
}
"""The three commands a new project's README and ``eventual new`` suggest, per template."""


@click.command("new")
@click.argument("name", metavar="NAME")
@click.option(
    "--template",
    type=click.Choice(TEMPLATES),
    default=TEMPLATES[0],
    show_default=True,
    help="Where the service runs: on this machine only, or deployed with that tool.",
)
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="The project's folder (default: ./NAME).",
)
@click.option("--force", is_flag=True, help="Write into a folder that already holds files.")
def new(name: str, template: str, directory: Path | None, force: bool) -> None:
    """Write a new project NAME: a service, its tests, its settings and infrastructure.

    The service has a command that starts a workflow, which calls a task and
    publishes an event that a subscription receives; its tests run on a virtual
    clock with the eventual_env fixture.
    """
    try:
        project = NewProject(name=name, template=template)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="NAME") from None
    target = directory if directory is not None else Path(name)
    try:
        written = write_project(project, target, force=force)
    except (ProjectExists, TemplateUnavailable) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {len(written)} files of the {template!r} template into {target}/")
    click.echo("next:")
    click.echo(f"  cd {target}")
    for step in NEXT_STEPS[template]:
        click.echo(f"  {step}")
