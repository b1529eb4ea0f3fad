"""The system API under ``/_eventual/``: operate a running service over HTTP.

The client, the CLI and a web UI use it: list and read executions (with a
long-poll for the end), history, start, signal, cancel, publish events, finish
tasks that completed asynchronously, dead letters and redrive, the service's
manifest, its OpenAPI document and a health check. When ``HttpOptions.token`` is
set, every endpoint but the health check needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from eventual import (
    DefinitionNotFound,
    EventualError,
    ExecutionAlreadyExists,
    ExecutionNotFound,
    ExecutionStatus,
    HttpRequest,
    HttpResponse,
    RuntimeNotAvailable,
    Service,
    ValidationError,
)
from eventual.codec import JsonValue, decode, encode
from eventual.history import ExecutionRecord, history_event_to_json
from eventual.spi import DeadLetter, ExecutionFilter, SubscriptionDelivery, execution_id

from .._ids import parse_task_token
from ._guard import check_json_type, check_origin
from ._inputs import invalid, parse_json
from ._openapi import openapi_document
from ._options import HttpOptions
from ._responses import ApiError, json_response
from ._routing import Endpoint, Router

if TYPE_CHECKING:
    from .._engine import Engine

__all__ = [
    "SYSTEM_PREFIX",
    "CompleteTask",
    "ExecutionPageBody",
    "FailTask",
    "Redrive",
    "StartExecution",
    "SystemApi",
]

SYSTEM_PREFIX: Final = "/_eventual"
_MAX_LIMIT = 1000
_HEALTH: Final = f"{SYSTEM_PREFIX}/health"
T = TypeVar("T")


@attrs.frozen(kw_only=True)
class StartExecution:
    """Body of ``POST /_eventual/executions``: which workflow, its input, its name."""

    workflow: str
    input: Any = None  # JSON, checked against the workflow's input type
    name: str | None = None


@attrs.frozen(kw_only=True)
class CompleteTask:
    """Body of ``POST /_eventual/tasks/complete``: the task's token and its result."""

    token: str
    result: Any = None  # JSON


@attrs.frozen(kw_only=True)
class FailTask:
    """Body of ``POST /_eventual/tasks/fail``: the task's token and its error."""

    token: str
    error_type: str = "Error"
    message: str = ""


@attrs.frozen(kw_only=True)
class Redrive:
    """Body of ``POST /_eventual/dead-letters/redrive``: which ones (all when null)."""

    ids: list[str] | None = None


@attrs.frozen(kw_only=True)
class ExecutionPageBody:
    """A page of executions, newest first, and the cursor of the next page."""

    executions: list[ExecutionRecord]
    next: str | None


@attrs.frozen(kw_only=True)
class DeadLetterPage:
    """A page of dead letters, oldest first, and the cursor of the next page."""

    dead_letters: list[DeadLetter]
    next: str | None


@attrs.frozen(kw_only=True)
class Accepted:
    """What the system API answers when it has accepted a request."""

    accepted: bool = True


@attrs.frozen(kw_only=True)
class Started:
    """The id of a started (or already existing, same input) execution."""

    id: str


@attrs.frozen(kw_only=True)
class Redriven:
    """How many dead letters were delivered again."""

    redriven: int


@attrs.frozen(kw_only=True)
class Health:
    """The health check's answer."""

    status: str
    service: str


@attrs.frozen(kw_only=True)
class HistoryBody:
    """An execution's history events, oldest first (each with its ``type``).

    Attributes:
        events: The events from position ``after`` on (all of them by default).
        next: The history's length: pass it as ``after`` to get only newer events.
        status: The execution's status when the history was read.
    """

    events: list[dict[str, Any]]
    next: int
    status: ExecutionStatus


def _body(request: HttpRequest, type_: Any) -> Any:
    data = parse_json(request.body)
    try:
        return decode(data, type_, path="body")
    except ValidationError as exc:
        raise invalid(exc.path, exc.problem) from None


def _query_int(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise invalid(f"query.{name}", f"expected an integer, got {text!r}") from None
    if not low <= value <= high:
        raise invalid(f"query.{name}", f"must be between {low} and {high}, got {value}")
    return value


def _query_seconds(request: HttpRequest, name: str, high: float) -> float:
    """Return a long-poll's wait, capped at ``high``: the client asks again after it."""
    text = request.query.get(name)
    if text is None or text == "":
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise invalid(f"query.{name}", f"expected seconds, got {text!r}") from None
    if not value >= 0:  # also refuses NaN
        raise invalid(f"query.{name}", f"must be 0 or more seconds, got {text}")
    return min(value, high)


def _query_position(request: HttpRequest, name: str) -> int:
    text = request.query.get(name)
    if text is None or text == "":
        return 0
    if not (text.isascii() and text.isdigit()):
        raise invalid(f"query.{name}", f"expected a position (0 or more), got {text!r}")
    return int(text)


_HISTORY_POLL = 0.25
"""Longest wait between history reads of a long-poll (another process may write)."""


def _execution_id(request: HttpRequest) -> str:
    try:
        return execution_id(request.params["workflow"], request.params["name"])
    except ValueError as exc:
        raise invalid("path.name", str(exc)) from None


def _check_token(token: str) -> None:
    try:
        parse_task_token(token)
    except EventualError:
        raise invalid("body.token", f"not a task token: {token!r}") from None


class SystemApi:
    """The ``/_eventual/`` endpoints of one service, over its engine.

    Args:
        engine: Returns the engine to act on (looked up per request, so a
            ``LocalRuntime`` can be served before it runs).
        service: The service.
        options: The token and the long-poll limit.
        service_endpoints: The service's own endpoints, for the OpenAPI document.
    """

    def __init__(
        self,
        engine: Callable[[], Engine],
        service: Service,
        options: HttpOptions,
        service_endpoints: Sequence[Endpoint],
    ) -> None:
        self._engine = engine
        self._service = service
        self._options = options
        self._service_endpoints = tuple(service_endpoints)
        self._router = Router(self._endpoints())
        self._openapi: dict[str, Any] | None = None
        self._token = None if options.token is None else options.token.encode("utf-8")
        self._closing = asyncio.Event()

    def close(self) -> None:
        """Answer the long-polls being held now, and hold no new ones."""
        self._closing.set()

    async def _held(self, waiting: Coroutine[Any, Any, T]) -> T | None:
        """Await ``waiting``, or return None as soon as :meth:`close` is called."""
        if self._closing.is_set():
            waiting.close()
            return None
        task = asyncio.ensure_future(waiting)
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait((task, closing), return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
            if not task.done():
                task.cancel()
        return task.result() if task.done() and not task.cancelled() else None

    def openapi(self) -> dict[str, Any]:
        """Return (and cache) the OpenAPI document."""
        if self._openapi is None:
            self._openapi = openapi_document(
                self._service, self._service_endpoints, self._router.endpoints, self._options
            )
        return self._openapi

    async def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer a request under ``/_eventual``; raises ``ApiError`` for failures.

        The token is checked before the path is looked up, so that a caller
        without it learns nothing about which paths exist.
        """
        if request.path.rstrip("/") != _HEALTH:
            self._authorize(request)
        endpoint, params = self._router.match(request.method, request.path)
        check_origin(request, self._options)
        check_json_type(request)
        if params:
            request = attrs.evolve(request, params=params)
        try:
            return await endpoint.route(request)
        except (ExecutionNotFound, DefinitionNotFound) as exc:
            raise ApiError(404, str(exc)) from None
        except ExecutionAlreadyExists as exc:
            raise ApiError(409, str(exc)) from None
        except ValidationError as exc:
            raise invalid(exc.path, exc.problem) from None
        except RuntimeNotAvailable as exc:
            raise ApiError(501, str(exc)) from None

    def _authorize(self, request: HttpRequest) -> None:
        if self._token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode("utf-8"), self._token
        ):
            raise ApiError(
                401,
                "the system API needs a token: send `Authorization: Bearer <token>`",
                None,
                {"www-authenticate": 'Bearer realm="eventual"'},
            )

    def _endpoints(self) -> list[Endpoint]:
        p = SYSTEM_PREFIX
        one = f"{p}/executions/{{workflow}}/{{name}}"
        status_values = ", ".join(status.value for status in ExecutionStatus)
        max_wait = self._options.max_wait

        def ep(method: str, path: str, handler: Any, **described: Any) -> Endpoint:
            described.setdefault("secured", True)
            return Endpoint.of(method, path, handler, tag="system", **described)

        return [
            ep(
                "GET",
                _HEALTH,
                self._health,
                summary="Health check (no token needed)",
                response_type=Health,
                secured=False,
            ),
            ep("GET", f"{p}/openapi.json", self._openapi_json, summary="This OpenAPI document"),
            ep("GET", f"{p}/service", self._manifest, summary="The service's manifest"),
            ep(
                "GET",
                f"{p}/executions",
                self._list,
                summary="List executions, newest first",
                response_type=ExecutionPageBody,
                query=(
                    ("workflow", "string", "only executions of this workflow"),
                    ("status", "string", f"only executions in this status ({status_values})"),
                    ("limit", "integer", f"at most this many (1 to {_MAX_LIMIT}, default 100)"),
                    ("cursor", "string", "the `next` of the previous page"),
                ),
            ),
            ep(
                "POST",
                f"{p}/executions",
                self._start,
                summary="Start a workflow execution",
                body_type=StartExecution,
                response_type=Started,
                status=201,
                errors=("409",),
            ),
            ep(
                "GET",
                one,
                self._get,
                summary="Get an execution",
                response_type=ExecutionRecord,
                query=(
                    (
                        "wait",
                        "number",
                        f"wait up to this many seconds (at most {max_wait:g}) for the "
                        "execution to end (long-poll)",
                    ),
                ),
            ),
            ep(
                "GET",
                f"{one}/history",
                self._history,
                summary="An execution's history",
                response_type=HistoryBody,
                query=(
                    ("after", "integer", "only events from this position on (a previous `next`)"),
                    (
                        "wait",
                        "number",
                        f"wait up to this many seconds (at most {max_wait:g}) for an event "
                        "past `after` or the end (long-poll)",
                    ),
                ),
            ),
            ep(
                "POST",
                f"{one}/signals/{{signal}}",
                self._signal,
                summary="Send a signal (the body is its payload)",
                body_type=Any,
                response_type=Accepted,
                status=202,
            ),
            ep(
                "POST",
                f"{one}/cancel",
                self._cancel,
                summary="Cancel an execution",
                response_type=Accepted,
                status=202,
            ),
            ep(
                "POST",
                f"{p}/events/{{event}}",
                self._publish,
                summary="Publish events (the body is a list of payloads)",
                body_type=list[Any],
                response_type=Accepted,
                status=202,
                errors=("501",),
            ),
            ep(
                "POST",
                f"{p}/tasks/complete",
                self._complete_task,
                summary="Complete an asynchronous task by token",
                body_type=CompleteTask,
                response_type=Accepted,
                status=202,
            ),
            ep(
                "POST",
                f"{p}/tasks/fail",
                self._fail_task,
                summary="Fail an asynchronous task by token",
                body_type=FailTask,
                response_type=Accepted,
                status=202,
            ),
            ep(
                "GET",
                f"{p}/dead-letters",
                self._dead_letters,
                summary="List dead letters, oldest first",
                response_type=DeadLetterPage,
                errors=("501",),
                query=(
                    ("limit", "integer", f"at most this many (1 to {_MAX_LIMIT}, default 100)"),
                    ("cursor", "string", "the `next` of the previous page"),
                ),
            ),
            ep(
                "POST",
                f"{p}/dead-letters/redrive",
                self._redrive,
                summary="Deliver dead letters again",
                body_type=Redrive,
                response_type=Redriven,
                errors=("501",),
            ),
        ]

    # --- handlers -------------------------------------------------------------------

    async def _health(self, request: HttpRequest) -> HttpResponse:
        return json_response({"status": "ok", "service": self._service.name})

    async def _openapi_json(self, request: HttpRequest) -> HttpResponse:
        return json_response(self.openapi())

    async def _manifest(self, request: HttpRequest) -> HttpResponse:
        return json_response(self._service.manifest())

    async def _list(self, request: HttpRequest) -> HttpResponse:
        status_text = request.query.get("status") or None
        status = None
        if status_text is not None:
            try:
                status = ExecutionStatus(status_text.upper())
            except ValueError:
                known = ", ".join(s.value for s in ExecutionStatus)
                raise invalid(
                    "query.status", f"unknown status {status_text!r}; one of {known}"
                ) from None
        query = ExecutionFilter(
            workflow=request.query.get("workflow") or None,
            status=status,
            limit=_query_int(request, "limit", 100, 1, _MAX_LIMIT),
            after=request.query.get("cursor") or None,
        )
        page = await self._engine().executions(query)
        body = ExecutionPageBody(executions=list(page.executions), next=page.next)
        return json_response(encode(body))

    async def _start(self, request: HttpRequest) -> HttpResponse:
        start: StartExecution = _body(request, StartExecution)
        if start.name is not None:
            try:
                execution_id(start.workflow, start.name)
            except ValueError as exc:
                raise invalid("body.name", str(exc)) from None
        workflow = self._service.workflow(start.workflow)
        try:
            id_ = await self._engine().start_execution(workflow.name, start.input, start.name)
        except ValidationError as exc:
            raise invalid(f"body.{exc.path}", exc.problem) from None
        return json_response({"id": id_}, 201)

    async def _get(self, request: HttpRequest) -> HttpResponse:
        id_ = _execution_id(request)
        wait = _query_seconds(request, "wait", self._options.max_wait)
        engine = self._engine()
        record = None
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                record = await self._held(engine.wait(id_, wait))
        if record is None:
            record = await engine.execution_record(id_)
        return json_response(encode(record))

    async def _history(self, request: HttpRequest) -> HttpResponse:
        id_ = _execution_id(request)
        after = _query_position(request, "after")
        wait = _query_seconds(request, "wait", self._options.max_wait)
        engine = self._engine()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            # The record first: once it has ended, the history read after it is whole.
            record = await engine.execution_record(id_)
            events = await engine.execution_history(id_)
            left = deadline - loop.time()
            if len(events) > after or record.status.done or left <= 0 or self._closing.is_set():
                break
            await self._held(engine.wait_for_progress(id_, min(left, _HISTORY_POLL)))
        body = HistoryBody(
            events=[history_event_to_json(event) for event in events[after:]],
            next=len(events),
            status=record.status,
        )
        return json_response(encode(body))

    async def _signal(self, request: HttpRequest) -> HttpResponse:
        id_ = _execution_id(request)
        signal = self._service.signal(request.params["signal"])
        data = parse_json(request.body)
        try:
            data = encode(decode(data, signal.payload_type, path="body"), signal.payload_type)
        except ValidationError as exc:
            raise invalid(exc.path, exc.problem) from None
        await self._engine().send_signal(id_, signal.name, data)
        return json_response({"accepted": True}, 202)

    async def _cancel(self, request: HttpRequest) -> HttpResponse:
        await self._engine().cancel_execution(_execution_id(request))
        return json_response({"accepted": True}, 202)

    async def _publish(self, request: HttpRequest) -> HttpResponse:
        event = self._service.event(request.params["event"])
        payloads = _body(request, list[Any])
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
        body: CompleteTask = _body(request, CompleteTask)
        _check_token(body.token)
        await self._engine().complete_task(body.token, body.result)
        return json_response({"accepted": True}, 202)

    async def _fail_task(self, request: HttpRequest) -> HttpResponse:
        body: FailTask = _body(request, FailTask)
        _check_token(body.token)
        await self._engine().fail_task(body.token, body.error_type, body.message)
        return json_response({"accepted": True}, 202)

    def _delivery(self) -> SubscriptionDelivery:
        engine = self._engine()
        if engine.subscriptions is None:
            raise ApiError(
                501,
                "dead letters need an event bus, and this service runs without one; "
                "install eventual-messaging (or configure `event_bus`) and restart",
            )
        return engine.subscriptions

    async def _dead_letters(self, request: HttpRequest) -> HttpResponse:
        delivery = self._delivery()
        limit = _query_int(request, "limit", 100, 1, _MAX_LIMIT)
        letters = await delivery.dead_letters(
            limit=limit + 1, after=request.query.get("cursor") or None
        )
        after = letters[limit - 1].id if len(letters) > limit else None
        page = DeadLetterPage(dead_letters=letters[:limit], next=after)
        return json_response(encode(page))

    async def _redrive(self, request: HttpRequest) -> HttpResponse:
        delivery = self._delivery()
        body: Redrive = _body(request, Redrive) if request.body else Redrive()
        count = await delivery.redrive(body.ids)
        self._engine().notify()
        return json_response({"redriven": count})
