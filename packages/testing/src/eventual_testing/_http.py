"""Commands and routes over the real HTTP dispatch, without a server.

``env.call(command, input)`` and ``env.http`` go through the engine's ASGI
application (``eventual_engine.HttpApp``) with httpx's in-process ASGI
transport: the request is encoded, routed, validated and answered exactly as a
deployed service answers it (status codes, JSON errors, middleware), only no
socket is opened.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar, cast

import httpx

from eventual import Command, HttpError, HttpResponse, Service
from eventual.codec import decode, encode
from eventual_engine import Engine, HttpApp

__all__ = ["BASE_URL", "call_command", "open_http"]

BASE_URL = "http://eventual.test"

InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")


def open_http(engine: Engine, service: Service) -> httpx.AsyncClient:
    """Return an HTTP client whose requests ``service``'s ASGI application answers."""
    app = HttpApp(engine, service)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


def _error(response: httpx.Response) -> HttpError:
    try:
        body = response.json()
    except ValueError:
        return HttpError(response.status_code, response.text)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return HttpError(response.status_code, body["error"], body.get("detail"))
    return HttpError(response.status_code, response.text)


async def call_command(
    http: httpx.AsyncClient, command: Command[InputT, OutputT], input: InputT
) -> OutputT:
    """Call ``command`` at ``POST /_rpc/{name}`` and return its decoded output.

    Raises:
        HttpError: The service answered with an error status; ``status``,
            ``message`` (the body's ``error``) and ``detail`` are the response's.
        ValidationError: ``input`` does not fit the command's input type (so it
            was never sent), or the output does not fit the output type.
    """
    body = json.dumps(encode(input, command.input_type, path="input")).encode("utf-8")
    response = await http.post(
        f"/_rpc/{command.name}", content=body, headers={"content-type": "application/json"}
    )
    output_type: Any = command.output_type
    if output_type is HttpResponse:
        # The command answers with its own response (OutputT is HttpResponse here):
        # hand it back as it came.
        answer = HttpResponse(response.content, response.status_code, dict(response.headers))
        return cast(OutputT, answer)
    if not response.is_success:
        raise _error(response)
    # The codec built a value of the declared type, which mypy only sees as Any.
    return cast(OutputT, decode(response.json(), output_type, path="output"))
