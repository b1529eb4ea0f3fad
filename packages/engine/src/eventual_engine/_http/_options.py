"""Options of the HTTP application."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, ClassVar, Final

import attrs

__all__ = ["DEFAULT_MAX_BODY_BYTES", "LOOPBACK_HOSTS", "HttpOptions"]

DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024
"""6 MB: the largest synchronous payload AWS Lambda accepts, so local and deployed agree."""

LOOPBACK_HOSTS: Final = ("localhost", "127.0.0.1", "[::1]")
"""The host names of a server bound to this machine only (``HttpOptions.allowed_hosts``)."""


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"HttpOptions.{attribute.name} must be positive, got {value!r}")


def _positive_span(instance: object, attribute: attrs.Attribute[Any], value: timedelta) -> None:
    if value <= timedelta(0):
        raise ValueError(f"HttpOptions.{attribute.name} must be positive, got {value}")


def _token(instance: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and not value.strip():
        raise ValueError("HttpOptions.token must not be empty; pass None for no token")


def _host_names(names: Iterable[str] | None) -> tuple[str, ...] | None:
    if names is None:
        return None
    if isinstance(names, str):
        names = (names,)
    found = tuple(name.strip().lower() for name in names)
    for name in found:
        if not name or "/" in name or (":" in name and not name.startswith("[")):
            raise ValueError(
                f"HttpOptions.allowed_hosts: {name!r} is not a host name; give names "
                'without scheme or port, e.g. ("localhost", "127.0.0.1", "[::1]")'
            )
    return found


def _origins(origins: Iterable[str]) -> tuple[str, ...]:
    if isinstance(origins, str):
        origins = (origins,)
    found = tuple(origin.strip().lower().rstrip("/") for origin in origins)
    for origin in found:
        scheme, sep, rest = origin.partition("://")
        if not sep or scheme not in ("http", "https") or not rest or "/" in rest:
            raise ValueError(
                f"HttpOptions.allowed_origins: {origin!r} is not an origin; give "
                'scheme, host and port only, e.g. "http://localhost:5173"'
            )
    return found


@attrs.frozen(kw_only=True)
class HttpOptions:
    """How the HTTP application serves a service.

    Attributes:
        token: When set, every request to the system API (``/_eventual/...``,
            except ``/_eventual/health``) must carry ``Authorization: Bearer
            <token>``; others get 401 before the path is even looked up.
            Commands and routes are not affected: protect them with middleware.
        allowed_hosts: When set, a request whose ``Host`` header (without its
            port) is not one of these names gets 421 before anything else: a
            server on loopback answers only its loopback names
            (``HttpOptions.LOOPBACK_HOSTS``), so that a web page whose name is rebound to
            127.0.0.1 cannot reach it. None (the default) accepts any host, for
            servers behind a proxy or a gateway that checks it.
        allowed_origins: Origins (``"http://localhost:5173"``) from which a
            browser may send state-changing requests (anything but GET, HEAD
            and OPTIONS) to commands and the system API; from any other
            origin than the server's own they get 403.
        max_body_bytes: Larger request bodies get 413.
        max_wait: The longest a long-poll (``?wait=`` on an execution or its
            history) is held, in seconds; a longer ``wait`` is held this long,
            and clients ask again after it.
        max_held_polls: How many long-polls may be held at once; past it, a
            long-poll is answered at once with the current state (clients back
            off and ask again), so held requests cannot exhaust the server.
        idempotency_retention: How long the answer to a request with an
            ``Idempotency-Key`` header is kept and given again to a retry with
            the same key (24 hours, as Stripe keeps them); after it, the key may
            be used again.
        idempotency_hold: How long a key taken by a request that has not been
            answered yet stays held: a retry meanwhile gets 409. Past it (the
            server died while answering), a retry runs the request again.
        api_version: The ``info.version`` of the OpenAPI document.
    """

    LOOPBACK_HOSTS: ClassVar[tuple[str, ...]] = LOOPBACK_HOSTS
    """``localhost``, ``127.0.0.1`` and ``[::1]``: ``allowed_hosts`` of a loopback server."""

    token: str | None = attrs.field(default=None, validator=_token)
    allowed_hosts: tuple[str, ...] | None = attrs.field(default=None, converter=_host_names)
    allowed_origins: tuple[str, ...] = attrs.field(default=(), converter=_origins)
    max_body_bytes: int = attrs.field(default=DEFAULT_MAX_BODY_BYTES, validator=_positive)
    max_wait: float = attrs.field(default=60.0, validator=_positive)
    max_held_polls: int = attrs.field(default=1000, validator=_positive)
    idempotency_retention: timedelta = attrs.field(
        default=timedelta(hours=24), validator=_positive_span
    )
    idempotency_hold: timedelta = attrs.field(
        default=timedelta(minutes=5), validator=_positive_span
    )
    api_version: str = "0.1.0"
