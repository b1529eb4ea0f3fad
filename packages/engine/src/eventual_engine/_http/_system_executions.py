"""The system API's executions: list, start, read (with long-polls), signal and cancel."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

from eventual import (
    ExecutionNotFound,
    ExecutionStatus,
    HttpRequest,
    HttpResponse,
    Service,
    ValidationError,
)
from eventual.codec import JsonValue, decode, encode
from eventual.history import ExecutionRecord, SignalReceived
from eventual.spi import ExecutionFilter, execution_id

from ._inputs import invalid, parse_json
from ._options import HttpOptions
from ._params import (
    LIMIT_SCHEMA,
    MAX_LIMIT,
    MAX_POSITION,
    check_name,
    path_execution_id,
    query_int,
    query_seconds,
    read_body,
    unreadable_cursor,
)
from ._responses import ApiError, json_response, with_header
from ._routing import Endpoint
from ._served import ServedEngine
from ._system_bodies import (
    WITHHELD_HEADER,
    Accepted,
    ExecutionPageBody,
    HistoryBody,
    LogsBody,
    SignalAnswer,
    Started,
    StartExecution,
    event_json,
    page_json,
    record_json,
)

__all__ = ["ExecutionRoutes"]

_AFTER_SCHEMA: dict[str, JsonValue] = {"type": "integer", "minimum": 0, "maximum": MAX_POSITION}
_HISTORY_POLL = 0.25
"""Longest wait between reads of a long-poll (another process may write)."""
# Held polls re-read another process's progress this often in all, so that
# hundreds of them do not crowd out other requests on the store.
_REREADS_PER_SECOND = 100
T = TypeVar("T")


class ExecutionRoutes:
    """``/_eventual/executions``: the handlers, their long-polls and their OpenAPI description.

    Args:
        engine: Returns the engine or client to act on, per request.
        service: The service.
        options: The long-poll limits.
    """

    def __init__(
        self, engine: Callable[[], ServedEngine], service: Service, options: HttpOptions
    ) -> None:
        self._engine = engine
        self._service = service
        self._options = options
        self._closing = asyncio.Event()
        self._polls = 0

    def close(self) -> None:
        """Answer the long-polls being held now, and hold no new ones."""
        self._closing.set()

    def endpoints(self, prefix: str, ep: Callable[..., Endpoint]) -> list[Endpoint]:
        """Return the endpoints, built with the system API's ``ep`` helper."""
        one = f"{prefix}/executions/{{workflow}}/{{name}}"
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

        return [
            ep(
                "GET",
                f"{prefix}/executions",
                self._list,
                summary="List executions, newest first",
                response_type=ExecutionPageBody,
                query=(
                    ("workflow", "string", "only executions of this workflow"),
                    ("status", status_schema, f"only executions in this status ({status_values})"),
                    ("limit", LIMIT_SCHEMA, f"at most this many (1 to {MAX_LIMIT}, default 100)"),
                    ("cursor", "string", "the `next` of the previous page"),
                ),
            ),
            ep(
                "POST",
                f"{prefix}/executions",
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
        ]

    # --- long-polls -----------------------------------------------------------------

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

    # --- handlers -------------------------------------------------------------------

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
            limit=query_int(request, "limit", 100, 1, MAX_LIMIT),
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
        message_id = await engine.queue_signal(id_, signal.name, data)
        # Read after the send, never before: an execution that ends between a
        # look at its status and the send would discard a signal said to be
        # accepted. Read after, a running execution had the message queued while
        # it ran; an ended one tells by its history whether it applied it.
        record = await engine.execution_record(id_)
        if message_id is not None and (
            not record.status.done or await _applied(engine, id_, message_id)
        ):
            return json_response(encode(SignalAnswer()), 202)
        # The engine discards it (DESIGN: sending never fails); say so here.
        answer = SignalAnswer(
            accepted=False,
            message=f"execution {id_!r} has ended ({record.status.value}); "
            f"the signal {signal.name!r} was discarded",
        )
        return json_response(encode(answer), 202)

    async def _cancel(self, request: HttpRequest) -> HttpResponse:
        await self._engine().cancel_execution(path_execution_id(request))
        return json_response({"accepted": True}, 202)


async def _applied(engine: ServedEngine, execution_id: str, message_id: str) -> bool:
    """Tell whether the ended execution applied the signal that message ``message_id`` carried.

    A signal is applied when a step of the running execution takes its message:
    the step records a ``SignalReceived`` whose ``id`` is the message's id, in
    the same commit as the step (whether or not the code went on to consume it).
    A message that reaches the execution after its end (or in the step that
    ends it, after the event that ended it) is dropped and recorded nowhere. The
    whole history is searched, not only the last run: a run that continued as
    new keeps its events, and hands the signals it kept to the next run under
    new ids. The record was read first, and it has ended, so the history read
    now is whole.
    """
    history = await engine.execution_history(execution_id)
    return any(isinstance(e, SignalReceived) and e.id == message_id for e in history)
