"""The system API's messages in: events published, asynchronous tasks finished by token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventual import HttpRequest, HttpResponse, Service, ValidationError
from eventual.codec import JsonValue, decode

from ._inputs import invalid
from ._params import check_token, read_body
from ._responses import json_response
from ._routing import Endpoint
from ._served import ServedEngine
from ._system_bodies import Accepted, CompleteTask, FailTask

__all__ = ["MessageRoutes"]


class MessageRoutes:
    """``/_eventual/events`` and ``/_eventual/tasks``: the handlers and their OpenAPI description.

    Args:
        engine: Returns the engine or client to act on, per request.
        service: The service, whose events and payload types are checked.
    """

    def __init__(self, engine: Callable[[], ServedEngine], service: Service) -> None:
        self._engine = engine
        self._service = service

    def endpoints(self, prefix: str, ep: Callable[..., Endpoint]) -> list[Endpoint]:
        """Return the endpoints, built with the system API's ``ep`` helper."""
        return [
            ep(
                "POST",
                f"{prefix}/events/{{event}}",
                self._publish,
                summary="Publish events (the body is a list of payloads)",
                body_type=list[Any],
                response_type=Accepted,
                status=202,
                errors=("501",),
            ),
            ep(
                "POST",
                f"{prefix}/tasks/complete",
                self._complete_task,
                summary="Complete an asynchronous task by token",
                body_type=CompleteTask,
                response_type=Accepted,
                status=202,
            ),
            ep(
                "POST",
                f"{prefix}/tasks/fail",
                self._fail_task,
                summary="Fail an asynchronous task by token",
                body_type=FailTask,
                response_type=Accepted,
                status=202,
            ),
        ]

    async def _publish(self, request: HttpRequest) -> HttpResponse:
        event = self._service.event(request.params["event"])
        payloads = read_body(request, list[Any])
        encoded: list[tuple[str, JsonValue]] = []
        for index, payload in enumerate(payloads):
            try:
                value = decode(payload, event.payload_type, path=f"body[{index}]")
            except ValidationError as exc:
                raise invalid(exc.path, exc.problem) from None
            encoded.append((event.name, event.encode_payload(value)))
        await self._engine().publish_events(encoded)
        return json_response({"accepted": True}, 202)

    async def _complete_task(self, request: HttpRequest) -> HttpResponse:
        completion: CompleteTask = read_body(request, CompleteTask)
        check_token(completion.token)
        try:
            await self._engine().complete_task(completion.token, completion.result)
        except ValidationError as exc:  # a forged token, or one of no execution
            raise invalid("body.token", exc.problem) from None
        return json_response({"accepted": True}, 202)

    async def _fail_task(self, request: HttpRequest) -> HttpResponse:
        failure: FailTask = read_body(request, FailTask)
        check_token(failure.token)
        try:
            await self._engine().fail_task(failure.token, failure.error_type, failure.message)
        except ValidationError as exc:
            raise invalid("body.token", exc.problem) from None
        return json_response({"accepted": True}, 202)
