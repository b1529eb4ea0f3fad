"""The ``eventual`` command group; every subcommand comes from a plugin.

The built-in commands (``eventual local``) are contributed through the same
``eventual_cli_commands`` hook as a third-party distribution's, so adding a
command is declaring an ``eventual`` entry point whose plugin returns click
commands, with no change to this module.
"""

from __future__ import annotations

import functools

import click

from eventual import EventualError
from eventual.plugins import Plugins, get_plugin_manager

from . import _plugin

__all__ = ["EventualGroup", "cli", "main"]


class EventualGroup(click.Group):
    """A click group that adds the commands plugins contribute, on first use."""

    @functools.cached_property
    def _plugin_commands(self) -> dict[str, click.Command]:
        manager = get_plugin_manager()
        # Registered explicitly too, so the built-in commands exist even when entry
        # points are not loaded (EVENTUAL_DISABLE_PLUGIN_AUTOLOAD).
        if not manager.is_registered(_plugin):
            manager.register(_plugin)
        found: dict[str, click.Command] = {}
        for command in Plugins(manager).cli_commands():
            if not isinstance(command, click.Command) or command.name is None:
                raise click.ClickException(
                    f"a plugin's eventual_cli_commands returned {command!r}, "
                    "which is not a named click command"
                )
            other = found.get(command.name)
            if other is not None and other is not command:
                raise click.ClickException(
                    f"two plugins define the command {command.name!r} "
                    f"({other.callback!r} and {command.callback!r}); uninstall one of them"
                )
            found[command.name] = command
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the names of the group's own commands and the plugins' commands."""
        return sorted({*super().list_commands(ctx), *self._plugin_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return a command by name, from the group or from a plugin."""
        return super().get_command(ctx, cmd_name) or self._plugin_commands.get(cmd_name)


@click.group(cls=EventualGroup)
@click.version_option(package_name="eventual-cli", prog_name="eventual")
def cli() -> None:
    """eventual: run and operate durable services."""


def main() -> None:
    """Run the ``eventual`` command (the console script)."""
    try:
        cli(prog_name="eventual")
    except EventualError as exc:  # a configuration error found before click could report it
        raise SystemExit(f"Error: {exc}") from None
