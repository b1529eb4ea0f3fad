"""Options of the HTTP application."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["DEFAULT_MAX_BODY_BYTES", "HttpOptions"]

DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024
"""6 MB: the largest synchronous payload AWS Lambda accepts, so local and deployed agree."""


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"HttpOptions.{attribute.name} must be positive, got {value!r}")


def _token(instance: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and not value.strip():
        raise ValueError("HttpOptions.token must not be empty; pass None for no token")


@attrs.frozen(kw_only=True)
class HttpOptions:
    """How the HTTP application serves a service.

    Attributes:
        token: When set, every request to the system API (``/_eventual/...``,
            except ``/_eventual/health``) must carry ``Authorization: Bearer
            <token>``; others get 401. Commands and routes are not affected:
            protect them with middleware.
        max_body_bytes: Larger request bodies get 413.
        max_wait: The longest a long-poll (``?wait=`` on an execution or its
            history) is held, in seconds; a longer ``wait`` is held this long,
            and clients ask again after it.
        api_version: The ``info.version`` of the OpenAPI document.
    """

    token: str | None = attrs.field(default=None, validator=_token)
    max_body_bytes: int = attrs.field(default=DEFAULT_MAX_BODY_BYTES, validator=_positive)
    max_wait: float = attrs.field(default=60.0, validator=_positive)
    api_version: str = "0.1.0"
