"""The system API under ``/_eventual/``: operate a running service over HTTP.

The client, the CLI and a web UI use it: list and read executions (with a
long-poll for the end), history, start, signal, cancel, publish events, finish
tasks that completed asynchronously, dead letters and redrive, schedules (list,
pause, resume), the service's
manifest, its OpenAPI document and a health check. When ``HttpOptions.token`` is
set, every endpoint but the health check needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from typing import Any, Final, TypeVar

import attrs

from eventual import (
    DefinitionNotFound,
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
from eventual.history import ExecutionRecord
from eventual.spi import ExecutionFilter, SubscriptionDelivery, execution_id

from ._guard import check_json_type, check_origin
from ._idempotency import Idempotency
from ._inputs import invalid, parse_json
from ._mount import mounted_at
from ._openapi import openapi_document
from ._options import HttpOptions
from ._params import (
    MAX_NAME,
    MAX_POSITION,
    check_name,
    check_token,
    path_execution_id,
    query_int,
    query_seconds,
    read_body,
    unreadable_cursor,
)
from ._responses import ApiError, json_response, with_header
from ._routing import Endpoint, Router
from ._served import RunsSubscriptions, ServedEngine
from ._system_bodies import (
    WITHHELD_HEADER,
    Accepted,
    CompleteTask,
    DeadLetterPage,
    ExecutionPageBody,
    FailTask,
    Health,
    HistoryBody,
    LogsBody,
    Redrive,
    Redriven,
    SignalAnswer,
    Started,
    StartExecution,
    event_json,
    page_json,
    record_json,
)
from ._system_schedules import ScheduleRoutes

__all__ = ["SYSTEM_PREFIX", "SystemApi"]

SYSTEM_PREFIX: Final = "/_eventual"
_MAX_LIMIT = 1000
_HEALTH: Final = f"{SYSTEM_PREFIX}/health"
_LIMIT_SCHEMA: dict[str, JsonValue] = {"type": "integer", "minimum": 1, "maximum": _MAX_LIMIT}
_AFTER_SCHEMA: dict[str, JsonValue] = {"type": "integer", "minimum": 0, "maximum": MAX_POSITION}
_NAME_SCHEMA: dict[str, JsonValue] = {"type": "string", "minLength": 1, "maxLength": MAX_NAME}
_EXECUTION_PARAMS: tuple[tuple[str, dict[str, JsonValue]], ...] = (
    ("workflow", _NAME_SCHEMA),
    ("name", {**_NAME_SCHEMA, "pattern": "^[^/]+$"}),
)
_HISTORY_POLL = 0.25
"""Longest wait between reads of a long-poll (another process may write)."""
# Held polls re-read another process's progress this often in all, so that
# hundreds of them do not crowd out other requests on the store.
_REREADS_PER_SECOND = 100
T = TypeVar("T")


class SystemApi:
    """The ``/_eventual/`` endpoints of one service, over its engine.

    Args:
        engine: Returns the engine or client to act on (looked up per request,
            so a runtime can be served before it runs).
        service: The service.
        options: The token and the long-poll limit.
        service_endpoints: The service's own endpoints, for the OpenAPI document.
        idempotency: Answers starts that carry an ``Idempotency-Key`` once.
    """

    def __init__(
        self,
        engine: Callable[[], ServedEngine],
        service: Service,
        options: HttpOptions,
        service_endpoints: Sequence[Endpoint],
        idempotency: Idempotency | None = None,
    ) -> None:
        self._engine = engine
        self._idempotency = idempotency
        self._service = service
        self._options = options
        self._service_endpoints = tuple(service_endpoints)
        self._schedules = ScheduleRoutes(engine)
        self._router = Router(self._endpoints())
        self._openapi: dict[str, Any] | None = None
        self._token = None if options.token is None else options.token.encode("utf-8")
        self._closing = asyncio.Event()
        self._polls = 0

    @contextlib.contextmanager
    def _poll_slot(self) -> Iterator[bool]:
        """Yield whether a long-poll may be held: at most ``max_held_polls`` at once."""
        if self._polls >= self._options.max_held_polls:
            yield False
            return
        self._polls += 1
        try:
            yield True
        finally:
            self._polls -= 1

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

    async def _poll(
        self, id_: str, read: Callable[[], Awaitable[list[T]]], wait: float
    ) -> tuple[ExecutionRecord, list[T]]:
        """Read the record, then ``read()``, until that finds something, it ends or ``wait`` passes.

        The record comes first: once it has ended, what is read after it is whole.
        Progress committed in this process wakes the poll at once; another process's
        is re-read, the held polls sharing ``_REREADS_PER_SECOND``.
        """
        engine = self._engine()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        with self._poll_slot() as held:
            while True:
                record = await engine.execution_record(id_)
                found = await read()
                left = deadline - loop.time()
                if found or record.status.done or left <= 0 or not held or self._closing.is_set():
                    return record, found
                interval = max(_HISTORY_POLL, self._polls / _REREADS_PER_SECOND)
                await self._held(engine.wait_for_progress(id_, min(left, interval)))

    def openapi(self) -> dict[str, Any]:
        """Return (and cache) the OpenAPI document."""
        if self._openapi is None:
            self._openapi = openapi_document(
                self._service, self._service_endpoints, self._router.endpoints, self._options
            )
        return self._openapi

    async def handle(self, request: HttpRequest, routing: str | None = None) -> HttpResponse:
        """Answer a request under ``/_eventual``; raises ``ApiError`` for failures.

        The token is checked before the path is looked up, so that a caller
        without it learns nothing about which paths exist.
        """
        if request.path.rstrip("/") != _HEALTH:
            self._authorize(request)
        endpoint, params = self._router.match(request.method, request.path, routing)
        check_origin(request, self._options)
        check_json_type(request)
        if params:
            request = attrs.evolve(request, params=params)
        if endpoint.idempotent and self._idempotency is not None:
            return await self._idempotency.answer(request, lambda: self._run(endpoint, request))
        return await self._run(endpoint, request)

    async def _run(self, endpoint: Endpoint, request: HttpRequest) -> HttpResponse:
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

        status_schema: dict[str, JsonValue] = {
            "type": "string",
            "enum": ["", *(status.value for status in ExecutionStatus)],
        }

        def long_poll(after: str, found: str) -> tuple[tuple[str, Any, str], ...]:
            return (
                ("after", _AFTER_SCHEMA, f"only {after} (a previous `next`)"),
                (
                    "wait",
                    {"type": "number", "minimum": 0},
                    f"wait up to this many seconds (at most {max_wait:g}) for {found} "
                    "past `after` or the end (long-poll)",
                ),
            )

        def ep(method: str, path: str, handler: Any, **described: Any) -> Endpoint:
            described.setdefault("secured", True)
            if path.startswith(one):
                described.setdefault("param_schemas", _EXECUTION_PARAMS)
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
                    ("status", status_schema, f"only executions in this status ({status_values})"),
                    ("limit", _LIMIT_SCHEMA, f"at most this many (1 to {_MAX_LIMIT}, default 100)"),
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
                idempotent=True,
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
                        {"type": "number", "minimum": 0},
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
                query=long_poll("events from this position on", "an event"),
            ),
            ep(
                "GET",
                f"{one}/logs",
                self._logs,
                summary="Log lines of an execution's workflow code and tasks",
                response_type=LogsBody,
                query=long_poll("entries after this position", "an entry"),
            ),
            ep(
                "POST",
                f"{one}/signals/{{signal}}",
                self._signal,
                summary="Send a signal (the body is its payload)",
                body_type=Any,
                response_type=SignalAnswer,
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
                    ("limit", _LIMIT_SCHEMA, f"at most this many (1 to {_MAX_LIMIT}, default 100)"),
                    ("cursor", "string", "the `next` of the previous page"),
                ),
            ),
            ep(
                "POST",
                f"{p}/dead-letters/redrive",
                self._redrive,
                summary="Deliver dead letters again",
                body_type=Redrive | None,
                response_type=Redriven,
                errors=("501",),
            ),
            *self._schedules.endpoints(p, ep),
        ]

    # --- handlers -------------------------------------------------------------------

    async def _health(self, request: HttpRequest) -> HttpResponse:
        return json_response({"status": "ok", "service": self._service.name})

    async def _openapi_json(self, request: HttpRequest) -> HttpResponse:
        root_path = mounted_at()
        if not root_path:
            return json_response(self.openapi())
        # Mounted under a prefix: the paths are relative to it, which servers says.
        return json_response({**self.openapi(), "servers": [{"url": root_path}]})

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
            limit=query_int(request, "limit", 100, 1, _MAX_LIMIT),
            after=request.query.get("cursor") or None,
        )
        engine = self._engine()
        if query.after is not None:
            await self._check_cursor(query.after)
        page = await engine.executions(query)
        with contextlib.suppress(ValueError, RecursionError):  # ValidationError too
            return json_response(page_json(page.executions, page.next))
        # One record that cannot be served must not hide the others.
        records: list[JsonValue] = []
        withheld: list[JsonValue] = []
        for record in page.executions:
            served, complete = record_json(record)
            records.append(served)
            if not complete:
                withheld.append(record.id)
        return json_response({"executions": records, "next": page.next, "withheld": withheld})

    async def _check_cursor(self, cursor: str) -> None:
        workflow, _, name = cursor.partition("/")
        try:
            check_name("query.cursor", workflow, "workflow")
            await self._engine().execution_record(execution_id(workflow, name))
        except (ApiError, ValidationError, ExecutionNotFound):
            raise unreadable_cursor(cursor) from None

    async def _start(self, request: HttpRequest) -> HttpResponse:
        start: StartExecution = read_body(request, StartExecution)
        check_name("body.workflow", start.workflow, "workflow")
        if start.name is not None:
            try:
                execution_id(start.workflow, start.name)
            except ValidationError as exc:
                raise invalid("body.name", exc.problem) from None
        workflow = self._service.workflow(start.workflow)
        try:
            id_ = await self._engine().start_execution(workflow.name, start.input, start.name)
        except ValidationError as exc:
            raise invalid(f"body.{exc.path}", exc.problem) from None
        return json_response({"id": id_}, 201)

    async def _get(self, request: HttpRequest) -> HttpResponse:
        id_ = path_execution_id(request)
        wait = query_seconds(request, "wait", self._options.max_wait)
        engine = self._engine()
        record = None
        with self._poll_slot() as held:
            if wait > 0 and held:
                with contextlib.suppress(TimeoutError):
                    record = await self._held(engine.wait(id_, wait))
        if record is None:
            record = await engine.execution_record(id_)
        served, complete = record_json(record)
        response = json_response(served)
        return response if complete else with_header(response, WITHHELD_HEADER, "input, result")

    async def _history(self, request: HttpRequest) -> HttpResponse:
        id_ = path_execution_id(request)
        after = query_int(request, "after", 0, 0, MAX_POSITION)
        wait = query_seconds(request, "wait", self._options.max_wait)
        engine = self._engine()
        # Only the events from `after` on are read, each time round.
        record, events = await self._poll(id_, lambda: engine.execution_history(id_, after), wait)
        length = after + len(events)
        if not events and after and not await engine.execution_history(id_, after - 1):
            # Past the end: say where the end is (a client error, so reading it all is fine).
            length = len(await engine.execution_history(id_))
        body = HistoryBody(
            events=[event_json(event) for event in events],
            next=length,
            status=record.status,
        )
        return json_response(encode(body))

    async def _logs(self, request: HttpRequest) -> HttpResponse:
        id_ = path_execution_id(request)
        after = query_int(request, "after", 0, 0, MAX_POSITION)
        wait = query_seconds(request, "wait", self._options.max_wait)
        engine = self._engine()
        record, entries = await self._poll(id_, lambda: engine.execution_logs(id_, after), wait)
        body = LogsBody(
            entries=entries, next=entries[-1].position if entries else after, status=record.status
        )
        return json_response(encode(body))

    async def _signal(self, request: HttpRequest) -> HttpResponse:
        id_ = path_execution_id(request)
        signal = self._service.signal(request.params["signal"])
        data = parse_json(request.body)
        try:
            data = encode(decode(data, signal.payload_type, path="body"), signal.payload_type)
        except ValidationError as exc:
            raise invalid(exc.path, exc.problem) from None
        engine = self._engine()
        record = await engine.execution_record(id_)
        if record.status.done:
            # The engine discards it too (DESIGN: sending never fails); say so here.
            answer = SignalAnswer(
                accepted=False,
                message=f"execution {id_!r} has ended ({record.status.value}); "
                f"the signal {signal.name!r} was discarded",
            )
            return json_response(encode(answer), 202)
        await engine.send_signal(id_, signal.name, data)
        return json_response(encode(SignalAnswer()), 202)

    async def _cancel(self, request: HttpRequest) -> HttpResponse:
        await self._engine().cancel_execution(path_execution_id(request))
        return json_response({"accepted": True}, 202)

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
        limit = query_int(request, "limit", 100, 1, _MAX_LIMIT)
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
