"""The eventual command group: commands come from plugins through eventual_cli_commands."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

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
        "bus",
        "call",
        "cancel",
        "client",
        "complete-task",
        "dead-letters",
        "execution",
        "executions",
        "export",
        "fail-task",
        "history",
        "local",
        "logs",
        "new",
        "publish",
        "replay",
        "schedules",
        "signal",
        "start",
    ]


def test_plugin_commands_are_added(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin's eventual_cli_commands adds a runnable subcommand beside the built-in ones."""
    group = _with(monkeypatch, HelloPlugin())
    result = CliRunner().invoke(group, ["hello"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello from a plugin\n"
    listed = CliRunner().invoke(group, ["--help"]).output
    assert "hello" in listed
    assert "Say hello." in listed
    assert "local" in listed


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


def test_an_installed_distribution_adds_a_command(tmp_path: Path) -> None:
    """A distribution's `eventual` entry point adds a command to `eventual --help`, and it runs."""
    (tmp_path / "acme_eventual.py").write_text(
        "import click\n"
        "from eventual.plugins import hookimpl\n\n"
        "@click.command('acme-hello')\n"
        "@click.argument('who')\n"
        "def hello(who):\n"
        "    '''Greet someone, from the acme plugin.'''\n"
        "    click.echo(f'hello {who} from acme')\n\n"
        "@hookimpl\n"
        "def eventual_cli_commands():\n"
        "    return [hello]\n",
        encoding="utf-8",
    )
    # What installing a wheel leaves in site-packages: the module and its dist-info.
    info = tmp_path / "acme_eventual-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-eventual\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text("[eventual]\nacme = acme_eventual\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("EVENTUAL_DISABLE_PLUGIN_AUTOLOAD", None)

    def eventual(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "eventual_cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    listed = eventual("--help")
    assert listed.returncode == 0, listed.stderr
    assert "acme-hello" in listed.stdout
    assert "Greet someone, from the acme plugin." in listed.stdout
    ran = eventual("acme-hello", "ada")
    assert (ran.returncode, ran.stdout) == (0, "hello ada from acme\n")
