"""JSON Schemas (2020-12, as OpenAPI 3.1 uses) of the types the codec encodes.

Each schema describes the JSON the codec produces for a type and accepts for it:
records (attrs classes and dataclasses) become named components referenced with
``$ref`` (so recursive records work), with ``additionalProperties: false``
because the codec rejects unknown keys; text forms (datetime, UUID, bytes, ...)
are strings with a ``format``; ``timedelta`` is a number of seconds.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, NewType, Union

import attrs

from eventual.codec import JsonValue

__all__ = ["Bounds", "SchemaSet", "record_fields", "wants_text"]

Schema = dict[str, JsonValue]


@attrs.frozen
class Bounds:
    """JSON Schema keywords that ``Annotated[T, Bounds.of(...)]`` adds to ``T``'s schema.

    The system API states the limits it enforces (``maxLength`` of names, say)
    so that a client or a fuzzer knows them from the document.
    """

    keywords: tuple[tuple[str, int | str], ...]

    @classmethod
    def of(cls, **keywords: int | str) -> Bounds:
        """Return bounds from JSON Schema keywords, e.g. ``Bounds.of(maxLength=256)``."""
        return cls(tuple(sorted(keywords.items())))


_TEXT_FORMATS: dict[type, Schema] = {
    datetime: {"type": "string", "format": "date-time"},
    date: {"type": "string", "format": "date"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    Decimal: {"type": "string", "format": "decimal"},
    bytes: {"type": "string", "contentEncoding": "base64"},
}
_SEQUENCES = {list, tuple, collections.abc.Sequence, collections.abc.MutableSequence}
_SETS = {set, frozenset, collections.abc.Set, collections.abc.MutableSet}
_MAPPINGS = {dict, collections.abc.Mapping, collections.abc.MutableMapping}


def _unwrap(type_: Any) -> Any:
    """Strip ``Annotated`` and ``NewType`` down to the type the codec dispatches on."""
    while True:
        if typing.get_origin(type_) is Annotated:
            type_ = typing.get_args(type_)[0]
        elif isinstance(type_, NewType):
            type_ = type_.__supertype__
        else:
            return type_


def _is_union(type_: Any) -> bool:
    return typing.get_origin(type_) in (Union, types.UnionType)


def _is_record(type_: Any) -> bool:
    cls = typing.get_origin(type_) or type_
    return isinstance(cls, type) and (attrs.has(cls) or dataclasses.is_dataclass(cls))


def record_fields(type_: Any) -> list[tuple[str, Any, bool]]:
    """Return ``(name, type, required)`` of each field the codec reads, or ``[]``.

    Args:
        type_: An attrs class or dataclass (possibly generic); other types have
            no fields.
    """
    type_ = _unwrap(type_)
    if not _is_record(type_):
        return []
    cls = typing.get_origin(type_) or type_
    bound = dict(zip(getattr(cls, "__parameters__", ()), typing.get_args(type_), strict=False))
    fields: list[tuple[str, Any, bool]] = []
    if attrs.has(cls):
        attrs.resolve_types(cls)
        for field in attrs.fields(cls):
            # A secret field (an execution's task key) is stored, never served.
            if field.init and not field.metadata.get("secret"):
                fields.append((field.name, field.type, field.default is attrs.NOTHING))
    else:
        hints = typing.get_type_hints(cls)
        for item in dataclasses.fields(cls):
            if item.init:
                required = (
                    item.default is dataclasses.MISSING
                    and item.default_factory is dataclasses.MISSING
                )
                fields.append((item.name, hints.get(item.name, Any), required))
    return [
        (name, bound.get(kind, kind) if isinstance(kind, typing.TypeVar) else kind, required)
        for name, kind, required in fields
    ]


def wants_text(type_: Any) -> bool:
    """Whether the JSON form of ``type_`` may be a string (so text is taken as is).

    A path or query parameter is text; for a field whose JSON form is a number,
    a boolean or a container, the text is read as JSON instead (``"3"`` -> ``3``).
    """
    type_ = _unwrap(type_)
    if type_ is Any or type_ is object or type_ is JsonValue:
        return True
    if _is_union(type_):
        return any(wants_text(member) for member in typing.get_args(type_))
    if typing.get_origin(type_) is Literal:
        return any(isinstance(value, str) for value in typing.get_args(type_))
    if isinstance(type_, type):
        if issubclass(type_, Enum):
            return any(isinstance(member.value, str) for member in type_)
        return issubclass(type_, str) or any(issubclass(type_, t) for t in _TEXT_FORMATS)
    return isinstance(type_, typing.ForwardRef | str)


class SchemaSet:
    """Builds schemas, collecting named record schemas for ``components/schemas``.

    Attributes:
        components: Record schemas by component name.
    """

    def __init__(self, ref_prefix: str = "#/components/schemas/") -> None:
        self.components: dict[str, Schema] = {}
        self._prefix = ref_prefix
        self._names: dict[Any, str] = {}

    def of(self, type_: Any) -> Schema:
        """Return the JSON Schema of ``type_`` (records as ``$ref``)."""
        if typing.get_origin(type_) is Annotated:
            base, *extra = typing.get_args(type_)
            schema = dict(self.of(base))
            for item in extra:
                if isinstance(item, Bounds):
                    schema.update(item.keywords)
            return schema
        type_ = _unwrap(type_)
        if type_ is Any or type_ is object or type_ is JsonValue:
            return {}
        if type_ is None or type_ is type(None):
            return {"type": "null"}
        if _is_union(type_):
            return {"anyOf": [self.of(member) for member in typing.get_args(type_)]}
        if typing.get_origin(type_) is Literal:
            return {"enum": [_literal(value) for value in typing.get_args(type_)]}
        if _is_record(type_):
            return {"$ref": self._prefix + self._record(type_)}
        origin = typing.get_origin(type_)
        if origin is not None:
            return self._generic(type_, origin)
        if isinstance(type_, type):
            return self._leaf(type_)
        return {}  # a forward reference or an unknown construct: anything

    def _leaf(self, cls: type) -> Schema:
        if issubclass(cls, Enum):
            return {"enum": [_literal(member.value) for member in cls]}
        if cls is bool:
            return {"type": "boolean"}
        if issubclass(cls, int):
            return {"type": "integer"}
        if issubclass(cls, float):
            return {"type": "number"}
        if issubclass(cls, str):
            return {"type": "string"}
        if cls is timedelta:
            return {"type": "number", "description": "a duration in seconds"}
        for base, schema in _TEXT_FORMATS.items():
            if issubclass(cls, base):
                return dict(schema)
        if cls in _SEQUENCES:
            return {"type": "array"}
        if cls in _SETS:
            return {"type": "array", "uniqueItems": True}
        if cls in _MAPPINGS:
            return {"type": "object"}
        return {}  # a type registered with Codec.register: its form is not known here

    def _generic(self, type_: Any, origin: Any) -> Schema:
        args = typing.get_args(type_)
        if origin is tuple and args and not (len(args) == 2 and args[1] is ...):
            items: list[JsonValue] = [self.of(arg) for arg in args]
            return {
                "type": "array",
                "prefixItems": items,
                "items": False,
                "minItems": len(items),
                "maxItems": len(items),
            }
        if origin in _SEQUENCES or origin in _SETS:
            schema: Schema = {"type": "array", "items": self.of(args[0] if args else Any)}
            if origin in _SETS:
                schema["uniqueItems"] = True
            return schema
        if origin in _MAPPINGS:
            value = args[1] if len(args) == 2 else Any
            return {"type": "object", "additionalProperties": self.of(value)}
        return {}

    def _record(self, type_: Any) -> str:
        name = self._names.get(type_)
        if name is not None:
            return name
        name = self._name_for(type_)
        self._names[type_] = name
        self.components[name] = {}  # reserved first, so a recursive field refers to it
        properties: dict[str, JsonValue] = {}
        required: list[JsonValue] = []
        for field, kind, needed in record_fields(type_):
            properties[field] = self.of(kind)
            if needed:
                required.append(field)
        schema: Schema = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        doc = (typing.get_origin(type_) or type_).__doc__
        if doc and not doc.startswith(f"{getattr(type_, '__name__', '')}("):
            schema["description"] = doc.strip().splitlines()[0]
        self.components[name] = schema
        return name

    def _name_for(self, type_: Any) -> str:
        cls = typing.get_origin(type_) or type_
        base = getattr(cls, "__qualname__", repr(cls)).replace(".", "_").replace("<", "_")
        base = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in base)
        if typing.get_args(type_):
            args = "_".join(_plain_name(arg) for arg in typing.get_args(type_))
            base = f"{base}_{args}"
        name, counter = base, 2
        while name in self.components:
            name, counter = f"{base}{counter}", counter + 1
        return name


def _plain_name(type_: Any) -> str:
    name = getattr(type_, "__name__", None) or repr(type_)
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _literal(value: object) -> JsonValue:
    if isinstance(value, Enum):
        value = value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
