"""What every operating command shares: where the service is, and how to print.

Humans get rich tables and a spinner while something is awaited; ``--json``
prints plain JSON on standard output for scripts, and never a spinner.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

import click
from rich.console import Console, RenderableType

from ._api import DEFAULT_URL, SystemClient

__all__ = ["Output", "Progress", "client_options", "json_option", "sigv4_choice", "sigv4_option"]

F = TypeVar("F", bound=Callable[..., Any])


def json_option(fn: F) -> F:
    """Add ``--json`` (passed as ``as_json``)."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON for scripts instead of tables."
    )(fn)


_SIGV4 = "eventual_cli.sigv4"


def _remember_sigv4(ctx: click.Context, param: click.Parameter, value: bool | None) -> None:
    ctx.meta[_SIGV4] = value


def sigv4_option(fn: F) -> F:
    """Add ``--sigv4/--no-sigv4`` (env ``EVENTUAL_SIGV4``), which ``Output.client`` reads."""
    return click.option(
        "--sigv4/--no-sigv4",
        envvar="EVENTUAL_SIGV4",
        default=None,
        expose_value=False,
        callback=_remember_sigv4,
        help="Sign system API requests with AWS credentials, for IAM auth on AWS "
        "(env EVENTUAL_SIGV4) [default: only for execute-api URLs].",
    )(fn)


def sigv4_choice() -> bool | None:
    """Return what ``--sigv4/--no-sigv4`` said for the running command (None: decide by URL)."""
    ctx = click.get_current_context(silent=True)
    choice = ctx.meta.get(_SIGV4) if ctx is not None else None
    return choice if isinstance(choice, bool) else None


def client_options(fn: F) -> F:
    """Add ``--url``, ``--token``, ``--sigv4`` and ``--json``.

    The values of ``--url``, ``--token`` and ``--json`` are passed as ``url``,
    ``token`` and ``as_json``; ``--sigv4`` is read by ``Output.client``.
    """
    fn = json_option(fn)
    fn = sigv4_option(fn)
    fn = click.option(
        "--token",
        envvar="EVENTUAL_TOKEN",
        help="Bearer token of the system API (env EVENTUAL_TOKEN).",
    )(fn)
    return click.option(
        "--url",
        envvar="EVENTUAL_URL",
        default=DEFAULT_URL,
        show_default=True,
        metavar="URL",
        help="The service (env EVENTUAL_URL).",
    )(fn)


class Progress(Protocol):
    """A status line that can be changed while waiting."""

    def update(self, text: str) -> None:
        """Show ``text`` instead."""


class _Silent:
    def update(self, text: str) -> None:
        pass


class _Spinner:
    def __init__(self, status: Any) -> None:
        self._status = status

    def update(self, text: str) -> None:
        self._status.update(text)


class Output:
    """Prints a command's results as rich renderables or as JSON.

    Args:
        as_json: Print JSON (one document, or one per line for streams).
    """

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        # Created per command so that they write to the streams of the moment
        # (click's test runner swaps them).
        self.console = Console(highlight=False, soft_wrap=False)
        self.errors = Console(stderr=True, highlight=False)

    def client(self, url: str, token: str | None) -> SystemClient:
        """Return a client of the service at ``url``, signing as ``--sigv4`` said."""
        return SystemClient(url, token, sigv4=sigv4_choice())

    def json(self, data: Any, *, lines: bool = False) -> None:
        """Print ``data`` as JSON: indented, or compact on one line when ``lines``."""
        if lines:
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        else:
            text = json.dumps(data, ensure_ascii=False, indent=2)
        click.echo(text)

    def show(self, *renderables: RenderableType, line: bool = False) -> None:
        """Print rich renderables on standard output; ``line`` keeps text on one line."""
        self.console.print(*renderables, soft_wrap=line)

    def note(self, text: str) -> None:
        """Print a remark for humans on standard error (never mixed into JSON)."""
        self.errors.print(text, markup=False)

    @contextlib.contextmanager
    def progress(self, text: str) -> Iterator[Progress]:
        """Show a spinner with ``text`` while the block runs, when a human is watching."""
        # The spinner goes where the output goes when that is a terminal, so the
        # lines printed while it spins stay above it; to standard error when the
        # output is redirected; nowhere for JSON or without a terminal.
        console = None
        if not self.as_json:
            if self.console.is_terminal:
                console = self.console
            elif self.errors.is_terminal:
                console = self.errors
        if console is None:
            yield _Silent()
            return
        with console.status(text) as status:
            yield _Spinner(status)
