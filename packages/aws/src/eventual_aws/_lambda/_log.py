"""Structured logs: one JSON object a line, with the invocation and the execution in hand.

CloudWatch Logs Insights reads JSON lines field by field, so every record says
which function kind, which Lambda request, and (where known) which execution
and sequence number it is about. The fields come from context variables set by
the handlers (:func:`log_context`), so engine and user code log as usual with
``logging`` and still get them.

On Lambda the runtime's own handler writes the lines: :func:`install` gives it
the JSON formatter, unless the function's log format is already JSON
(``AWS_LAMBDA_LOG_FORMAT=JSON``), whose formatter keeps the extra fields the
filter adds. Elsewhere (tests, the simulator) logging is left as configured.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import time
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["ContextFilter", "JsonFormatter", "install", "log_context"]

_NO_FIELDS: Mapping[str, object] = MappingProxyType({})
_FIELDS: contextvars.ContextVar[Mapping[str, object]] = contextvars.ContextVar(
    "eventual_aws_log_fields", default=_NO_FIELDS
)
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


@contextlib.contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Add fields (``execution_id``, ``seq``, ...) to every record logged inside.

    Fields whose value is None are left out.
    """
    merged = {**_FIELDS.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _FIELDS.set(merged)
    try:
        yield
    finally:
        _FIELDS.reset(token)


class ContextFilter(logging.Filter):
    """Copies the fields of :func:`log_context` onto each record (never filters one out)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _FIELDS.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message and context fields."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                document[name] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str, ensure_ascii=False)


_installed = False


def install(environment: Mapping[str, str]) -> None:
    """On Lambda, make the root logger's handlers write JSON lines with context fields.

    Does nothing outside Lambda (no ``AWS_LAMBDA_FUNCTION_NAME``), and only once.
    """
    global _installed
    if _installed or not environment.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    _installed = True
    root = logging.getLogger()
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(environment.get("AWS_LAMBDA_LOG_LEVEL", "INFO").upper())
    native_json = environment.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"
    for handler in root.handlers:
        handler.addFilter(ContextFilter())
        if not native_json:
            handler.setFormatter(JsonFormatter())
