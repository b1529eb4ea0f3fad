"""Decoding unions: which member a value belongs to.

Members are tried from the most specific to the most general, and the first that
fits wins: literals and enums; bool, int, float; attrs classes and dataclasses
(fewest fields first), containers and other types (by name); str; ``Any``. Not in
the order written, because Python treats ``int | float`` and ``float | int`` as one
type, which cattrs caches once. Classes are told apart by their fields, since
unknown keys are rejected. When no member fits, the error of the member that got
deepest into the value is reported, else ``expected A | B``.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import attrs
import cattrs

from ._errors import _as_error, _mismatch, _type_name
from ._types import _Decoder, _is_enum, _is_literal, _is_record, _is_runtime, _NoneType, _origin


def _specificity(type_: Any) -> tuple[int, int, str]:
    """Order union members from the most specific to the most general.

    Python treats ``A | B`` and ``B | A`` as one type (and cattrs caches by type), so
    the order the user wrote cannot decide: a fixed order makes equal unions decode
    alike. Classes with fewer fields go first, so a value encoded from a class with
    more fields never decodes as a smaller class that happens to fit.
    """
    if _is_literal(type_) or _is_enum(type_):
        return (0, 0, _type_name(type_))
    if type_ in (bool, int, float):
        return (1, (bool, int, float).index(type_), "")
    if type_ is str or _is_runtime(type_) or type_ is _NoneType:
        return (3 if type_ is str else 4 if type_ is _NoneType else 5, 0, "")
    cls = _origin(type_)
    size = (
        len(attrs.fields(cls) if attrs.has(cls) else dataclasses.fields(cls))
        if _is_record(type_)
        else 0
    )
    return (2, size, _type_name(type_))


def _union_decoder(type_: Any, converter: cattrs.Converter) -> _Decoder:
    """Build the decoder of a union (cattrs passes its converter as the second argument)."""
    members = sorted(typing.get_args(type_), key=_specificity)
    hooks = [(m, converter.get_structure_hook(m)) for m in members if m is not _NoneType]
    accepts_none, expected = _NoneType in members, " | ".join(map(_type_name, members))
    if len(hooks) == 1:
        ((member, only),) = hooks
        return lambda data, _: None if data is None else only(data, member)

    def decode_union(data: object, _: Any) -> object:
        if data is None and accepts_none:
            return None
        failures = []
        for member, hook in hooks:
            try:
                return hook(data, member)
            except Exception as exc:
                failures.append(_as_error(exc))
        deepest = max(failures, key=lambda e: e.path.count(".") + e.path.count("["))
        if deepest.path:
            raise deepest from deepest.__cause__
        raise _mismatch(expected, data)

    return decode_union
