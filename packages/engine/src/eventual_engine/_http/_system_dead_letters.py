"""The system API's dead letters: list them and deliver them again."""

from __future__ import annotations

from collections.abc import Callable

from eventual import HttpRequest, HttpResponse
from eventual.codec import encode
from eventual.spi import SubscriptionDelivery

from ._params import LIMIT_SCHEMA, MAX_LIMIT, query_int, read_body
from ._responses import ApiError, json_response
from ._routing import Endpoint
from ._served import RunsSubscriptions, ServedEngine
from ._system_bodies import DeadLetterPage, Redrive, Redriven

__all__ = ["DeadLetterRoutes"]


class DeadLetterRoutes:
    """``/_eventual/dead-letters``: the handlers and their OpenAPI description.

    Args:
        engine: Returns the engine or client to act on, per request.
    """

    def __init__(self, engine: Callable[[], ServedEngine]) -> None:
        self._engine = engine

    def endpoints(self, prefix: str, ep: Callable[..., Endpoint]) -> list[Endpoint]:
        """Return the endpoints, built with the system API's ``ep`` helper."""
        return [
            ep(
                "GET",
                f"{prefix}/dead-letters",
                self._dead_letters,
                summary="List dead letters, oldest first",
                response_type=DeadLetterPage,
                errors=("501",),
                query=(
                    ("limit", LIMIT_SCHEMA, f"at most this many (1 to {MAX_LIMIT}, default 100)"),
                    ("cursor", "string", "the `next` of the previous page"),
                ),
            ),
            ep(
                "POST",
                f"{prefix}/dead-letters/redrive",
                self._redrive,
                summary="Deliver dead letters again",
                body_type=Redrive | None,
                response_type=Redriven,
                errors=("501",),
            ),
        ]

    def _delivery(self) -> SubscriptionDelivery:
        engine = self._engine()
        delivery = engine.subscriptions if isinstance(engine, RunsSubscriptions) else None
        if delivery is None:
            raise ApiError(
                501,
                "dead letters need an event bus delivering in this process, and this "
                "service runs without one; install eventual-messaging (or configure "
                "`event_bus`) and restart",
            )
        return delivery

    async def _dead_letters(self, request: HttpRequest) -> HttpResponse:
        delivery = self._delivery()
        limit = query_int(request, "limit", 100, 1, MAX_LIMIT)
        letters = await delivery.dead_letters(
            limit=limit + 1, after=request.query.get("cursor") or None
        )
        after = letters[limit - 1].id if len(letters) > limit else None
        page = DeadLetterPage(dead_letters=letters[:limit], next=after)
        return json_response(encode(page))

    async def _redrive(self, request: HttpRequest) -> HttpResponse:
        delivery = self._delivery()
        which: Redrive = read_body(request, Redrive | None) or Redrive()
        count = await delivery.redrive(which.ids)
        engine = self._engine()
        if isinstance(engine, RunsSubscriptions):
            engine.notify()  # deliver them now, not at the next poll
        return json_response({"redriven": count})
