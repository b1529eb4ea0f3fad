"""JSON arguments: inline text, ``-`` for standard input, or a file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["BadJson", "file_json", "json_argument", "read_json"]


class BadJson(click.ClickException):
    """A JSON argument or file could not be read: one ``Error:`` line, exit status 2.

    Not a ``click.BadParameter``, whose report adds the command's usage: a typo in
    a payload deserves the one line that names it.
    """

    exit_code = 2


def json_argument(text: str | None, what: str, *, default: Any = None) -> Any:
    """Parse a command-line JSON argument; ``-`` reads standard input.

    Args:
        text: The argument, or None when it was not given.
        what: Its name in messages (``"INPUT"``).
        default: The value when the argument was not given.

    Raises:
        BadJson: The text is not JSON; the message shows how to quote.
    """
    if text is None:
        return default
    if text == "-":
        try:
            data = sys.stdin.read()
        except UnicodeDecodeError as error:
            raise BadJson(f"{what} (from standard input) is not JSON: {error}") from None
        return read_json(data, "standard input", what)
    return read_json(text, None, what)


def read_json(text: str | bytes, source: str | Path | None, what: str) -> Any:
    """Parse ``text`` as JSON, naming ``source`` (a file, standard input) in errors.

    Raises:
        BadJson: The text is not JSON (bytes: nor UTF-8, -16 or -32).
    """
    try:
        return json.loads(text)
    except ValueError as error:
        where = f" (from {source})" if source is not None else ""
        hint = ""
        if isinstance(text, str) and source is None and text and text[0] not in '{["-0123456789tfn':
            hint = f"; a string must be quoted as JSON, e.g. '\"{text}\"'"
        raise BadJson(f"{what}{where} is not JSON: {error}{hint}") from None


def file_json(path: Path, what: str) -> Any:
    """Read and parse a JSON file.

    Raises:
        BadJson: The file cannot be read or is not JSON.
    """
    try:
        # Bytes: json.loads detects the encoding, and bad bytes are a ValueError.
        text = path.read_bytes()
    except OSError as error:
        raise BadJson(f"cannot read {path}: {error.strerror or error}") from None
    return read_json(text, path, what)
