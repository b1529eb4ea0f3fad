"""The JSON codec: typed values to JSON-compatible data and back, with field paths in errors."""

from ._codec import Codec as Codec
from ._codec import JsonValue as JsonValue
from ._codec import decode as decode
from ._codec import default_codec as default_codec
from ._codec import encode as encode

__all__ = ["Codec", "JsonValue", "decode", "default_codec", "encode"]
