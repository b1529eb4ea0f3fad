r"""What every stored value must be: text UTF-8 can hold, nesting a store can read back.

A JSON text may escape a lone UTF-16 surrogate (``"\\ud800"``); Python reads it
into a ``str`` that no UTF-8 encoder accepts, so such a value would fail deep in
a backend (SQLite, DynamoDB, S3) or in a later response. Deep nesting fails the
same way, later, in the recursive readers and writers of stores and clients.
Both are refused where values enter, naming where they are.
"""

from __future__ import annotations

import json
import re
from typing import Final

from .._errors import ValidationError
from ._errors import _key_segment, _raise_at, _rooted

__all__ = ["MAX_DEPTH", "check_storable", "check_text"]

MAX_DEPTH: Final = 64
"""The deepest nesting of lists and objects a value may have (the top level is 1)."""

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(value: str) -> None:
    """Refuse text holding a lone surrogate (which no UTF-8 encoder writes).

    Raises:
        ValidationError: Naming the surrogate and its index, without a path.
    """
    if value.isascii():
        return
    found = _LONE_SURROGATE.search(value)
    if found is not None:
        raise ValidationError(
            "",
            f"text holds a lone surrogate {json.dumps(found.group())} at index "
            f"{found.start()}, which cannot be stored as UTF-8; send valid Unicode text",
        )


def _segment(key: object) -> str:
    # Field-like keys read as fields (body.input.id), as the decoder names them.
    return f".{key}" if type(key) is str and key.isidentifier() else _key_segment(key)


def _walk(data: object, left: int) -> None:
    if type(data) is str:
        check_text(data)
    elif type(data) is list or type(data) is dict:
        if left <= 0:
            raise ValidationError(
                "", f"nested deeper than {MAX_DEPTH} levels of lists and objects; flatten it"
            )
        if isinstance(data, list):
            for index, item in enumerate(data):
                if type(item) is not str or not item.isascii():
                    try:
                        _walk(item, left - 1)
                    except ValidationError as exc:
                        _raise_at(f"[{index}]", exc)
        elif isinstance(data, dict):
            for key, item in data.items():
                try:
                    if type(key) is str:
                        check_text(key)
                    _walk(item, left - 1)
                except ValidationError as exc:
                    _raise_at(_segment(key), exc)


def check_storable(data: object, path: str = "") -> None:
    """Check that parsed JSON can be stored and served again.

    Args:
        data: Data as ``json.loads`` returns it.
        path: Where the data sits (e.g. ``"body"``), to prefix error paths.

    Raises:
        ValidationError: A string or key holds a lone surrogate, or lists and
            objects nest deeper than ``MAX_DEPTH``; ``path`` names where.
    """
    try:
        _walk(data, MAX_DEPTH)
    except ValidationError as exc:
        raise _rooted(path, exc) from None
