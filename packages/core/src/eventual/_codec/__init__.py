"""The JSON codec: typed Python values to JSON-compatible values and back.

Every value that crosses a durable boundary (workflow inputs and results, task
arguments, signals, events, command bodies, history events) goes through a
``Codec``, by its declared type.

Why cattrs: it generates one specialised function per type and caches it, so
encoding a history event costs a few calls rather than a reflective walk, and it
already knows attrs classes, dataclasses, generics, ``NewType`` and ``Annotated``.
The codec keeps cattrs for classes and dispatch, and registers its own hooks for
every leaf and container, because cattrs' defaults are lenient (``int("1")``, a
string iterated as a list, a dict iterated as its keys).

Why strict: decoded data was written by another process, an older version of the
code or an HTTP client. Coercing ``"1"`` to ``1`` or ``true`` to ``1`` hides a bug
until a replay, far from its cause. So decoding accepts a value only in the shape
``encode`` produces (an int is also a valid float), rejects unknown object keys, and
names the failing field with the names the user wrote:
``order.items[2].quantity: expected int, got "x"``. Encoding refuses what JSON
cannot hold (NaN, naive datetimes, non-string keys, arbitrary objects) and values
that do not match their declared type.

The modules: ``_codec`` (the ``Codec`` class, registration order, locating encode
errors), ``_leaves`` (one-value types and their representations), ``_containers``
(records, lists, tuples, sets, mappings), ``_unions`` (which member a value
belongs to), ``_errors`` (messages and paths) and ``_types`` (aliases, predicates).
"""

from ._codec import Codec as Codec
from ._codec import decode as decode
from ._codec import default_codec as default_codec
from ._codec import encode as encode
from ._limits import MAX_DEPTH as MAX_DEPTH
from ._limits import check_storable as check_storable
from ._types import JsonValue as JsonValue

__all__ = [
    "Codec",
    "JsonValue",
    "MAX_DEPTH",
    "check_storable",
    "decode",
    "default_codec",
    "encode",
]
