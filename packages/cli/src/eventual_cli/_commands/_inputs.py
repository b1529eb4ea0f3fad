"""JSON arguments: inline text, ``-`` for standard input, or a file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["file_json", "json_argument", "read_json"]


def json_argument(text: str | None, what: str, *, default: Any = None) -> Any:
    """Parse a command-line JSON argument; ``-`` reads standard input.

    Args:
        text: The argument, or None when it was not given.
        what: Its name in messages (``"INPUT"``).
        default: The value when the argument was not given.

    Raises:
        click.BadParameter: The text is not JSON; the message shows how to quote.
    """
    if text is None:
        return default
    if text == "-":
        return read_json(sys.stdin.read(), "standard input", what)
    return read_json(text, None, what)


def read_json(text: str, source: str | Path | None, what: str) -> Any:
    """Parse ``text`` as JSON, naming ``source`` (a file, standard input) in errors."""
    try:
        return json.loads(text)
    except ValueError as error:
        where = f" (from {source})" if source is not None else ""
        hint = ""
        if source is None and text and text[0] not in '{["-0123456789tfn':
            hint = f"; a string must be quoted as JSON, e.g. '\"{text}\"'"
        raise click.BadParameter(f"{what}{where} is not JSON: {error}{hint}") from None


def file_json(path: Path, what: str) -> Any:
    """Read and parse a JSON file.

    Raises:
        click.BadParameter: The file cannot be read or is not JSON.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise click.BadParameter(f"cannot read {path}: {error.strerror or error}") from None
    return read_json(text, path, what)
