"""The JSON codec: typed values to JSON-compatible data and back, with field paths in errors."""

from ._codec import MAX_DEPTH as MAX_DEPTH
from ._codec import Codec as Codec
from ._codec import JsonValue as JsonValue
from ._codec import check_storable as check_storable
from ._codec import decode as decode
from ._codec import default_codec as default_codec
from ._codec import encode as encode

__all__ = [
    "Codec",
    "JsonValue",
    "MAX_DEPTH",
    "check_storable",
    "decode",
    "default_codec",
    "encode",
]
