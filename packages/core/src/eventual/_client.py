"""``ServiceClient``: drive a running service over HTTP, with the types of its definitions.

The client speaks to the service's commands (``POST /_rpc/{name}``) and to its
system API (``/_eventual/...``), which ``eventual local`` and the deployed
runtimes serve. Values are encoded and decoded by the declared types of the
definitions passed in, so ``await client.call(place_order, order)`` is typed like
calling the command itself, and handles it returns behave like any other.

httpx is imported when a client is created, not when ``eventual`` is imported: a
service that never calls another one does not need it (``pip install
'eventual-core[client]'`` adds it).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import urllib.parse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from ulid import ULID

from ._codec import JsonValue, decode, encode
from ._defaults import DefaultClient, add_default_client
from ._errors import (
    ExecutionAlreadyExists,
    ExecutionNotFound,
    HttpError,
    RuntimeNotAvailable,
    ValidationError,
    WorkflowFailed,
)
from ._handle import ExecutionHandle
from ._history import ExecutionRecord, HistoryEvent, history_event_from_json
from ._info import ExecutionStatus
from ._runtime import Client, reset_client, set_client
from ._schedule import ScheduleInfo
from ._service import DefinitionNotFound

if TYPE_CHECKING:
    import httpx

    from ._command import Command
    from ._event import Event
    from ._signal import Signal
    from ._workflow import Workflow

__all__ = ["ServiceClient"]

InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")
P = TypeVar("P")

_SYSTEM = "/_eventual"
_LONG_POLL = 20.0  # seconds per long-poll request; the server's default limit is 60
_EARLY = 1.0  # a long-poll answered sooner than this while running was not held
_MAX_BACKOFF = 2.0  # the longest pause before asking again after an early answer


_PAGE = 1000  # the longest page the system API gives


class _Pages:
    """The paging of the execution list without its I/O, shared by both clients.

    Ask :meth:`query` for the next page's query parameters (None once done),
    hand what the server answered to :meth:`read`, and read :attr:`records`.
    """

    def __init__(
        self,
        workflow: Workflow[Any, Any] | str | None,
        status: ExecutionStatus | None,
        limit: int | None,
    ) -> None:
        name = workflow if isinstance(workflow, str) or workflow is None else workflow.name
        self._filter = {"workflow": name, "status": None if status is None else status.value}
        self._limit = limit
        self._cursor: str | None = None
        self._done = False
        self.records: list[ExecutionRecord] = []

    def query(self) -> dict[str, str] | None:
        """Return the query of the next page, or None when every page wanted is read."""
        have = len(self.records)
        if self._done or (self._limit is not None and have >= self._limit):
            return None
        size = _PAGE if self._limit is None else min(_PAGE, self._limit - have)
        query = {**self._filter, "cursor": self._cursor}
        return {**{k: v for k, v in query.items() if v is not None}, "limit": str(size)}

    def read(self, body: JsonValue) -> None:
        """Take one page's answer: its records, and where the next page starts."""
        assert isinstance(body, dict)
        self.records += decode(body["executions"], list[ExecutionRecord], path="executions")
        following = body["next"]
        self._cursor = following if isinstance(following, str) else None
        self._done = self._cursor is None


def _keyed(headers: Mapping[str, str]) -> dict[str, str]:
    """Return ``headers`` with a new Idempotency-Key, sent with every try of one request."""
    return {**headers, "idempotency-key": str(ULID())}


def _settled(response: httpx.Response, last: bool) -> bool:
    """Return whether a try's answer is final (else it is sent again under its key)."""
    # 409 with Retry-After: the first try is still being answered.
    return last or response.status_code != 409 or "retry-after" not in response.headers


def _system_headers(token: str | None) -> dict[str, str]:
    """Return the headers of a system request: the token, if the client has one."""
    return {} if token is None else {"authorization": f"Bearer {token}"}


def _takes_effect_once(method: str, path: str) -> bool:
    """Return whether a system request is a start, sent under one Idempotency-Key with retries."""
    return method == "POST" and path == f"{_SYSTEM}/executions"


def _pause(attempt: int) -> float:
    """Return the seconds to wait before try ``attempt + 2`` (0-based ``attempt`` failed)."""
    return min(0.2 * float(2**attempt), 2.0)


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _execution_path(execution_id: str) -> str:
    workflow, sep, name = execution_id.partition("/")
    if not sep or not workflow or not name:
        raise ValueError(f"invalid execution id {execution_id!r}: expected 'workflow/name'")
    return f"{_SYSTEM}/executions/{_quote(workflow)}/{_quote(name)}"


def _schedule_path(workflow: Workflow[Any, Any] | str, action: str) -> str:
    name = workflow if isinstance(workflow, str) else workflow.name
    return f"{_SYSTEM}/schedules/{_quote(name)}/{action}"


def schedules_of(body: JsonValue) -> list[ScheduleInfo]:
    """Read the answer of ``GET /_eventual/schedules`` (shared by both clients)."""
    listed = body.get("schedules") if isinstance(body, dict) else None
    return decode(listed, list[ScheduleInfo], path="schedules")


class _Control:
    """The ``ExecutionControl`` that handles from a client use."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def execution_status(self, execution_id: str) -> ExecutionStatus:
        return (await self._client._record(execution_id)).status

    async def execution_result(self, execution_id: str) -> JsonValue:
        # Long-poll: each request waits on the server for the end, so a result that
        # takes hours costs one request per _LONG_POLL seconds, not a busy loop. A
        # server may answer early (it caps the wait, or it is stopping): then back
        # off before asking again.
        loop = asyncio.get_running_loop()
        backoff = 0.0
        while True:
            asked = loop.time()
            record = await self._client._record(execution_id, wait=_LONG_POLL)
            if record.status is ExecutionStatus.SUCCEEDED:
                result: JsonValue = record.result
                return result
            if record.status.done:
                raise WorkflowFailed(
                    record.error_type or record.status.value, record.message or record.status.value
                )
            if loop.time() - asked < _EARLY:
                backoff = min(max(2 * backoff, 0.05), _MAX_BACKOFF)
                await asyncio.sleep(backoff)
            else:
                backoff = 0.0

    async def execution_history(self, execution_id: str) -> list[HistoryEvent]:
        body = await self._client._system("GET", f"{_execution_path(execution_id)}/history")
        assert isinstance(body, dict)
        events = body["events"]
        assert isinstance(events, list)
        return [history_event_from_json(event) for event in events]

    async def cancel_execution(self, execution_id: str) -> None:
        await self._client._system("POST", f"{_execution_path(execution_id)}/cancel")

    async def send_signal(self, execution_id: str, signal: str, payload: JsonValue) -> None:
        path = f"{_execution_path(execution_id)}/signals/{_quote(signal)}"
        await self._client._system("POST", path, payload)


class _Ambient(_Control):
    """The ``Client`` that an open ``ServiceClient`` is for ``wf.start()`` and friends."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def start_execution(
        self, workflow: str, input: JsonValue, name: str | None, *, parent_id: str | None = None
    ) -> str:
        return await self._client.start_execution(workflow, input, name, parent_id=parent_id)

    async def publish_events(self, events: Sequence[tuple[str, JsonValue]]) -> None:
        await self._client.publish_events(list(events))

    async def complete_task(self, token: str, result: JsonValue) -> None:
        await self._client.complete_task(token, result)

    async def fail_task(self, token: str, error_type: str, message: str) -> None:
        body: dict[str, JsonValue] = {"token": token, "error_type": error_type, "message": message}
        await self._client._system("POST", f"{_SYSTEM}/tasks/fail", body)


class ServiceClient:
    """A client of a running service: commands, executions, signals and events.

    Inside ``async with``, it is also the ambient client: ``wf.start(...)``,
    ``sig.send(...)``, ``ev.publish(...)`` and ``complete_task(...)`` go to the
    service, and while it is open it is the default for every other task of its
    event loop and for other threads, as an open ``LocalRuntime`` is.

    Example:
        async with ServiceClient("http://127.0.0.1:3111") as client:
            execution_id = await client.call(place_order, Order("o1", "book", 1))
            handle = await client.execution(execution_id)
            await handle.signal(approval, True)
            print(await handle.result())

    Args:
        url: The service's base URL.
        token: The system API's token (sent as ``Authorization: Bearer``, only
            to ``/_eventual/`` endpoints).
        headers: Headers sent with every request (e.g. what your middleware checks).
        timeout: Seconds allowed for one request (a long-poll gets this on top).
        transport: An httpx transport, e.g. ``httpx.ASGITransport(app)`` in tests.
        retries: How many times :meth:`call` and :meth:`start` send a request
            again when the connection failed (refused, reset, or dropped before
            the answer arrived) or the service asks to retry. Each call sends one
            ``Idempotency-Key`` (a new ULID) with every try, so a retry gets the
            first try's answer instead of running the command or the start again.
        auth: An httpx auth applied to the system API's requests (``/_eventual/``),
            like ``token``: ``eventual_aws.SigV4Auth()`` signs them with AWS
            credentials for a service deployed on AWS, whose system routes use
            IAM authorization. Each try of a retried request is signed again.

    Raises:
        ImportError: httpx is not installed.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retries: int = 2,
        auth: httpx.Auth | None = None,
    ) -> None:
        try:
            import httpx
        except ImportError:
            raise ImportError(
                "ServiceClient needs httpx, which is not installed; "
                "install it with `pip install 'eventual-core[client]'`"
            ) from None
        self.url = url.rstrip("/")
        self._token = token
        self._auth = auth
        self._timeout = timeout
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, got {retries}")
        self._retries = retries
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=dict(headers or {}), timeout=timeout, transport=transport
        )
        self._control = _Control(self)
        self._opened: tuple[contextvars.Token[Client | None], DefaultClient] | None = None

    def __repr__(self) -> str:
        return f"ServiceClient({self.url!r})"

    async def __aenter__(self) -> ServiceClient:
        ambient = _Ambient(self)
        self._opened = (set_client(ambient), add_default_client(ambient))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections (and stop being the ambient client)."""
        if self._opened is not None:
            token, default = self._opened
            self._opened = None
            default.dispose()
            with contextlib.suppress(ValueError):
                # Closed from another context: that context's value is its own.
                reset_client(token)
        await self._http.aclose()

    # --- commands ---------------------------------------------------------------------

    async def call(self, command: Command[InputT, OutputT], input: InputT) -> OutputT:
        """Call a command and return its output, decoded by its declared type.

        Args:
            command: The command (its name, input and output types are used).
            input: The input; ``None`` for a command without input.

        Raises:
            HttpError: The service answered with an error status; ``status``,
                ``message`` and ``detail`` are the response's.
        """
        data = encode(input, command.input_type, path="input")
        response = await self._send_once("POST", f"/_rpc/{_quote(command.name)}", data, {}, None)
        body = self._json_or_raise(response, HttpError)
        output: OutputT = decode(body, command.output_type, path="output")
        return output

    # --- executions -------------------------------------------------------------------

    async def start(
        self, workflow: Workflow[InputT, OutputT], input: InputT, name: str | None = None
    ) -> ExecutionHandle[OutputT]:
        """Start an execution of ``workflow`` (see ``Workflow.start``) and return its handle.

        Raises:
            ExecutionAlreadyExists: ``name`` is taken by an execution with another input.
            ValidationError: The service refused the input.
        """
        id_ = await self.start_execution(workflow.name, workflow.encode_input(input), name)
        return ExecutionHandle(id_, control=self._control, result_type=workflow.output_type)

    async def execution(self, execution_id: str) -> ExecutionHandle[Any]:
        """Return a handle on an existing execution (raises ``ExecutionNotFound``)."""
        await self._record(execution_id)
        return ExecutionHandle(execution_id, control=self._control)

    async def executions(
        self,
        workflow: Workflow[Any, Any] | str | None = None,
        status: ExecutionStatus | None = None,
        *,
        limit: int | None = None,
    ) -> list[ExecutionRecord]:
        """List executions, newest first, following pages up to ``limit`` (all by default)."""
        pages = _Pages(workflow, status, limit)
        while (query := pages.query()) is not None:
            pages.read(await self._system("GET", f"{_SYSTEM}/executions", params=query))
        return pages.records

    async def send_signal(self, execution_id: str, signal: Signal[P], payload: P) -> None:
        """Send ``signal`` with ``payload`` to an execution."""
        data = encode(payload, signal.payload_type, path="payload")
        await self._control.send_signal(execution_id, signal.name, data)

    async def publish(self, event: Event[P], *payloads: P) -> None:
        """Publish events through the service's event bus.

        Raises:
            DefinitionNotFound: The service has no event of that name.
            RuntimeNotAvailable: The service runs without an event bus.
        """
        data = [event.encode_payload(payload) for payload in payloads]
        path = f"{_SYSTEM}/events/{_quote(event.name)}"
        await self._system("POST", path, data, not_found=DefinitionNotFound)

    async def complete_task(self, token: str, result: object = None) -> None:
        """Finish a task that called ``complete_async()`` with a (JSON-encodable) result."""
        body = {"token": token, "result": encode(result, path="result")}
        await self._system("POST", f"{_SYSTEM}/tasks/complete", body)

    async def fail_task(self, token: str, error: BaseException | str) -> None:
        """Fail a task that called ``complete_async()`` with an exception or a message."""
        body: dict[str, JsonValue]
        if isinstance(error, BaseException):
            body = {"token": token, "error_type": type(error).__name__, "message": str(error)}
        else:
            body = {"token": token, "error_type": "Error", "message": error}
        await self._system("POST", f"{_SYSTEM}/tasks/fail", body)

    # --- schedules --------------------------------------------------------------------

    async def schedules(self) -> list[ScheduleInfo]:
        """List the service's scheduled workflows: schedule, pause, next and last run."""
        body = await self._system("GET", f"{_SYSTEM}/schedules")
        return schedules_of(body)

    async def pause_schedule(self, workflow: Workflow[Any, Any] | str) -> None:
        """Pause a scheduled workflow: no run starts until it is resumed.

        Raises:
            DefinitionNotFound: The service does not schedule that workflow.
            HttpError: Its scheduler has ended (409): a cancelled scheduler stops for good.
        """
        await self._control_schedule(workflow, "pause")

    async def resume_schedule(self, workflow: Workflow[Any, Any] | str) -> None:
        """Resume a paused scheduled workflow; missed runs follow its catch-up policy.

        Raises:
            DefinitionNotFound: The service does not schedule that workflow.
            HttpError: Its scheduler has ended (409): a cancelled scheduler stops for good.
        """
        await self._control_schedule(workflow, "resume")

    async def _control_schedule(self, workflow: Workflow[Any, Any] | str, action: str) -> None:
        path = _schedule_path(workflow, action)
        try:
            await self._system("POST", path, not_found=DefinitionNotFound)
        except ExecutionAlreadyExists as exc:
            # 409 here is an ended scheduler, not a taken execution name.
            raise HttpError(409, str(exc)) from None

    # --- the Client protocol, so a ServiceClient can be the ambient client -------------

    async def start_execution(
        self, workflow: str, input: JsonValue, name: str | None, *, parent_id: str | None = None
    ) -> str:
        """Start an execution by workflow name with a JSON input; return its id."""
        body = {"workflow": workflow, "input": input, "name": name}
        answer = await self._system(
            "POST", f"{_SYSTEM}/executions", body, not_found=DefinitionNotFound
        )
        assert isinstance(answer, dict)
        return str(answer["id"])

    async def publish_events(self, events: list[tuple[str, JsonValue]]) -> None:
        """Publish events given as (event name, JSON payload)."""
        for name, payload in events:
            path = f"{_SYSTEM}/events/{_quote(name)}"
            await self._system("POST", path, [payload], not_found=DefinitionNotFound)

    # --- plumbing ---------------------------------------------------------------------

    async def _record(self, execution_id: str, wait: float = 0.0) -> ExecutionRecord:
        params = {"wait": str(wait)} if wait else None
        body = await self._system("GET", _execution_path(execution_id), params=params, wait=wait)
        return decode(body, ExecutionRecord, path="execution")

    async def _system(
        self,
        method: str,
        path: str,
        body: JsonValue = None,
        *,
        params: Mapping[str, str] | None = None,
        wait: float = 0.0,
        not_found: type[Exception] = ExecutionNotFound,
    ) -> JsonValue:
        headers = _system_headers(self._token)
        if _takes_effect_once(method, path):
            response = await self._send_once(method, path, body, headers, self._auth)
        else:
            response = await self._http.request(
                method,
                path,
                json=body if method != "GET" else None,
                params=params,
                headers=headers,
                timeout=self._timeout + wait,
                auth=self._auth,
            )
        return self._json_or_raise(response, not_found)

    async def _send_once(
        self,
        method: str,
        path: str,
        body: JsonValue,
        headers: Mapping[str, str],
        auth: httpx.Auth | None,
    ) -> httpx.Response:
        """Send a request that must take effect once, retrying under one Idempotency-Key."""
        import httpx

        keyed = _keyed(headers)
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = await self._http.request(
                    method, path, json=body, headers=keyed, auth=auth
                )
            except httpx.TransportError:
                if last:
                    raise
            else:
                if _settled(response, last):
                    return response
            await asyncio.sleep(_pause(attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    @staticmethod
    def _json_or_raise(response: httpx.Response, not_found: type[Exception]) -> JsonValue:
        try:
            body: JsonValue = response.json()
        except ValueError:
            body = None
        if response.is_success:
            return body
        error = body.get("error") if isinstance(body, dict) else None
        detail = body.get("detail") if isinstance(body, dict) else None
        message = str(error) if error else response.reason_phrase
        status = response.status_code
        if not_found is HttpError:
            raise HttpError(status, message, detail)
        if status == 400 and isinstance(detail, dict) and "path" in detail:
            raise ValidationError(str(detail["path"]), str(detail.get("problem", message)))
        if status == 404 and "no route" not in message:
            raise not_found(message)
        if status == 409:
            raise ExecutionAlreadyExists(message)
        if status == 501:
            raise RuntimeNotAvailable(message)
        raise HttpError(status, message, detail)
