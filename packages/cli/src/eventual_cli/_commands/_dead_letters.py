"""``eventual dead-letters``: list the events subscriptions gave up on, and redrive them."""

from __future__ import annotations

import click

from ._api import SYSTEM
from ._output import Output, client_options
from ._render import dead_letters_table

__all__ = ["dead_letters"]


@click.command("dead-letters")
@click.argument("ids", metavar="[ID...]", nargs=-1)
@click.option(
    "--redrive",
    is_flag=True,
    help="Deliver the dead letters ID... (all of them when no ID is given) again.",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=100,
    show_default=True,
    help="List at most this many, oldest first.",
)
@client_options
def dead_letters(
    ids: tuple[str, ...], redrive: bool, limit: int, url: str, token: str | None, as_json: bool
) -> None:
    """List dead letters, or with --redrive deliver them again."""
    if ids and not redrive:
        raise click.UsageError("dead letter ids are only taken with --redrive")
    out = Output(as_json)
    with out.client(url, token) as client:
        if redrive:
            body = {"ids": list(ids) if ids else None}
            answer = client.request("POST", f"{SYSTEM}/dead-letters/redrive", body=body)
            if as_json:
                out.json(answer)
            else:
                count = answer["redriven"]
                out.note(f"redrove {count} dead letter{'s' if count != 1 else ''}")
            return
        letters = list(client.pages(f"{SYSTEM}/dead-letters", "dead_letters", limit))
    if as_json:
        out.json(letters)
    elif letters:
        out.show(dead_letters_table(letters))
    else:
        out.note("no dead letters")
