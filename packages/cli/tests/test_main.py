"""The eventual command group: commands come from plugins through eventual_cli_commands."""

from __future__ import annotations

from collections.abc import Sequence

import click
import pluggy
import pytest
from click.testing import CliRunner

from eventual.plugins import get_plugin_manager, hookimpl
from eventual_cli import _main, cli


@click.command("hello")
def hello() -> None:
    """Say hello."""
    click.echo("hello from a plugin")


class HelloPlugin:
    @hookimpl
    def eventual_cli_commands(self) -> Sequence[object]:
        return [hello]


class BrokenPlugin:
    @hookimpl
    def eventual_cli_commands(self) -> Sequence[object]:
        return ["not a command"]


class ClashPlugin:
    @hookimpl
    def eventual_cli_commands(self) -> Sequence[object]:
        return [click.Command("local", callback=lambda: None)]


def _with(monkeypatch: pytest.MonkeyPatch, *plugins: object) -> click.Group:
    def manager() -> pluggy.PluginManager:
        return get_plugin_manager(plugins=plugins)

    monkeypatch.setattr(_main, "get_plugin_manager", manager)
    # A fresh group, since the plugins' commands are looked up once per group.
    return _main.EventualGroup(name="eventual", callback=cli.callback)


def test_help_lists_the_builtin_local_command() -> None:
    """`eventual --help` lists `local`, contributed through the plugin hook."""
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "local" in result.output
    assert "Run a whole service locally" in result.output


def test_builtin_commands_without_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    """With entry points disabled, the built-in commands are still there."""
    monkeypatch.setenv("EVENTUAL_DISABLE_PLUGIN_AUTOLOAD", "1")
    group = _main.EventualGroup(name="eventual")
    assert group.list_commands(click.Context(group)) == [
        "call",
        "cancel",
        "complete-task",
        "dead-letters",
        "execution",
        "executions",
        "export",
        "fail-task",
        "history",
        "local",
        "publish",
        "replay",
        "signal",
        "start",
    ]


def test_plugin_commands_are_added(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin's eventual_cli_commands adds a runnable subcommand beside the built-in ones."""
    group = _with(monkeypatch, HelloPlugin())
    result = CliRunner().invoke(group, ["hello"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello from a plugin\n"
    assert CliRunner().invoke(group, ["--help"]).output.count("local") >= 1


def test_a_plugin_returning_no_command_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Something that is not a click command is reported, naming it."""
    result = CliRunner().invoke(_with(monkeypatch, BrokenPlugin()), ["--help"])
    assert result.exit_code == 1
    assert "'not a command'" in result.output


def test_two_commands_with_one_name_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two plugins defining the same command name are reported rather than one winning."""
    result = CliRunner().invoke(_with(monkeypatch, ClashPlugin()), ["local", "--help"])
    assert result.exit_code == 1
    assert "two plugins define the command 'local'" in result.output
