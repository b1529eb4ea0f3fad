"""``SyncServiceClient``: the typed calls of ``ServiceClient`` for code that is not async.

Django views, Flask, scripts and notebooks drive a service without an event
loop: the same requests, the same encoding by the definitions' declared types,
the same errors, on httpx's synchronous client. A handle's ``result()`` long-polls
like the async one, blocking the calling thread.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from ._client import (
    _EARLY,
    _LONG_POLL,
    _MAX_BACKOFF,
    _SYSTEM,
    ServiceClient,
    _execution_path,
    _keyed,
    _Pages,
    _pause,
    _quote,
    _schedule_path,
    _settled,
    _system_headers,
    _takes_effect_once,
    schedules_of,
)
from ._codec import JsonValue, decode, encode
from ._errors import ExecutionNotFound, HttpError, WorkflowFailed
from ._history import ExecutionRecord, HistoryEvent, history_event_from_json
from ._info import ExecutionStatus
from ._schedule import ScheduleInfo
from ._service import DefinitionNotFound

if TYPE_CHECKING:
    import httpx

    from ._command import Command
    from ._event import Event
    from ._signal import Signal
    from ._workflow import Workflow

__all__ = ["SyncExecutionHandle", "SyncServiceClient"]

InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")
R = TypeVar("R")
P = TypeVar("P")


class SyncExecutionHandle(Generic[R]):
    """A blocking handle on one execution, from a :class:`SyncServiceClient`.

    Attributes:
        id: The execution id, ``"{workflow}/{name}"``.
    """

    __slots__ = ("_client", "_result_type", "id")

    def __init__(self, id: str, client: SyncServiceClient, result_type: Any = Any) -> None:
        self.id = id
        self._client = client
        self._result_type = result_type

    def __repr__(self) -> str:
        return f"SyncExecutionHandle({self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SyncExecutionHandle) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def status(self) -> ExecutionStatus:
        """Return the execution's current status."""
        return self._client._record(self.id).status

    def result(self, timeout: float | None = None) -> R:
        """Wait for the execution to end and return its result, decoded by its type.

        Args:
            timeout: Seconds to wait at most; None waits as long as it takes.

        Raises:
            WorkflowFailed: The execution failed, timed out or was cancelled.
            TimeoutError: ``timeout`` passed first; the execution goes on.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        backoff = 0.0
        while True:
            asked = time.monotonic()
            wait = _LONG_POLL if deadline is None else max(0.0, min(_LONG_POLL, deadline - asked))
            record = self._client._record(self.id, wait=wait)
            if record.status is ExecutionStatus.SUCCEEDED:
                # The codec built a value of the declared type, which mypy only sees as Any.
                return cast(R, decode(record.result, self._result_type, path="result"))
            if record.status.done:
                raise WorkflowFailed(
                    record.error_type or record.status.value, record.message or record.status.value
                )
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"{self.id} is still {record.status.value} after {timeout}s")
            if time.monotonic() - asked < _EARLY:
                # Answered early (a server that caps the wait, or is stopping): back off.
                backoff = min(max(2 * backoff, 0.05), _MAX_BACKOFF)
                time.sleep(backoff)
            else:
                backoff = 0.0

    def signal(self, signal: Signal[P], payload: P) -> None:
        """Send ``signal`` with ``payload`` to the execution."""
        self._client.send_signal(self.id, signal, payload)

    def cancel(self) -> None:
        """Ask the execution to cancel; its workflow sees ``asyncio.CancelledError``."""
        self._client._system("POST", f"{_execution_path(self.id)}/cancel")

    def history(self) -> list[HistoryEvent]:
        """Return the execution's recorded history events, oldest first."""
        body = self._client._system("GET", f"{_execution_path(self.id)}/history")
        assert isinstance(body, dict)
        events = body["events"]
        assert isinstance(events, list)
        return [history_event_from_json(event) for event in events]


class SyncServiceClient:
    """A blocking client of a running service, with the types of its definitions.

    Example:
        with SyncServiceClient("http://127.0.0.1:3111") as client:
            execution_id = client.call(place_order, Order("o1", "book", 1))
            handle = client.execution(execution_id)
            handle.signal(approval, True)
            print(handle.result())

    Args:
        url: The service's base URL (with its prefix when it is mounted under one).
        token: The system API's token (sent as ``Authorization: Bearer``, only
            to ``/_eventual/`` endpoints).
        headers: Headers sent with every request.
        timeout: Seconds allowed for one request (a long-poll gets this on top).
        transport: An httpx transport, e.g. ``httpx.WSGITransport(app)`` in tests.
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
        transport: httpx.BaseTransport | None = None,
        retries: int = 2,
        auth: httpx.Auth | None = None,
    ) -> None:
        try:
            import httpx
        except ImportError:
            raise ImportError(
                "SyncServiceClient needs httpx, which is not installed; "
                "install it with `pip install 'eventual-core[client]'`"
            ) from None
        self.url = url.rstrip("/")
        self._token = token
        self._auth = auth
        self._timeout = timeout
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, got {retries}")
        self._retries = retries
        self._http = httpx.Client(
            base_url=self.url, headers=dict(headers or {}), timeout=timeout, transport=transport
        )

    def __repr__(self) -> str:
        return f"SyncServiceClient({self.url!r})"

    def __enter__(self) -> SyncServiceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def call(self, command: Command[InputT, OutputT], input: InputT) -> OutputT:
        """Call a command and return its output, decoded by its declared type.

        Raises:
            HttpError: The service answered with an error status.
        """
        data = encode(input, command.input_type, path="input")
        response = self._send_once("POST", f"/_rpc/{_quote(command.name)}", data, {}, None)
        body = ServiceClient._json_or_raise(response, HttpError)
        output: OutputT = decode(body, command.output_type, path="output")
        return output

    def start(
        self, workflow: Workflow[InputT, OutputT], input: InputT, name: str | None = None
    ) -> SyncExecutionHandle[OutputT]:
        """Start an execution of ``workflow`` (see ``Workflow.start``) and return its handle.

        Raises:
            ExecutionAlreadyExists: ``name`` is taken by an execution with another input.
            ValidationError: The service refused the input.
        """
        body = {"workflow": workflow.name, "input": workflow.encode_input(input), "name": name}
        answer = self._system("POST", f"{_SYSTEM}/executions", body, not_found=DefinitionNotFound)
        assert isinstance(answer, dict)
        return SyncExecutionHandle(str(answer["id"]), self, workflow.output_type)

    def execution(self, execution_id: str) -> SyncExecutionHandle[Any]:
        """Return a handle on an existing execution (raises ``ExecutionNotFound``)."""
        self._record(execution_id)
        return SyncExecutionHandle(execution_id, self)

    def executions(
        self,
        workflow: Workflow[Any, Any] | str | None = None,
        status: ExecutionStatus | None = None,
        *,
        limit: int | None = None,
    ) -> list[ExecutionRecord]:
        """List executions, newest first, following pages up to ``limit`` (all by default)."""
        pages = _Pages(workflow, status, limit)
        while (query := pages.query()) is not None:
            pages.read(self._system("GET", f"{_SYSTEM}/executions", params=query))
        return pages.records

    def send_signal(self, execution_id: str, signal: Signal[P], payload: P) -> None:
        """Send ``signal`` with ``payload`` to an execution."""
        data = encode(payload, signal.payload_type, path="payload")
        self._system("POST", f"{_execution_path(execution_id)}/signals/{_quote(signal.name)}", data)

    def publish(self, event: Event[P], *payloads: P) -> None:
        """Publish events through the service's event bus.

        Raises:
            DefinitionNotFound: The service has no event of that name.
            RuntimeNotAvailable: The service runs without an event bus.
        """
        data = [event.encode_payload(payload) for payload in payloads]
        path = f"{_SYSTEM}/events/{_quote(event.name)}"
        self._system("POST", path, data, not_found=DefinitionNotFound)

    def complete_task(self, token: str, result: object = None) -> None:
        """Finish a task that called ``complete_async()`` with a (JSON-encodable) result."""
        body = {"token": token, "result": encode(result, path="result")}
        self._system("POST", f"{_SYSTEM}/tasks/complete", body)

    def fail_task(self, token: str, error: BaseException | str) -> None:
        """Fail a task that called ``complete_async()`` with an exception or a message."""
        error_type = type(error).__name__ if isinstance(error, BaseException) else "Error"
        body: dict[str, JsonValue] = {
            "token": token,
            "error_type": error_type,
            "message": str(error),
        }
        self._system("POST", f"{_SYSTEM}/tasks/fail", body)

    def schedules(self) -> list[ScheduleInfo]:
        """List the service's scheduled workflows (see ``ServiceClient.schedules``)."""
        return schedules_of(self._system("GET", f"{_SYSTEM}/schedules"))

    def pause_schedule(self, workflow: Workflow[Any, Any] | str) -> None:
        """Pause a scheduled workflow (see ``ServiceClient.pause_schedule``)."""
        self._system("POST", _schedule_path(workflow, "pause"), not_found=DefinitionNotFound)

    def resume_schedule(self, workflow: Workflow[Any, Any] | str) -> None:
        """Resume a paused scheduled workflow (see ``ServiceClient.resume_schedule``)."""
        self._system("POST", _schedule_path(workflow, "resume"), not_found=DefinitionNotFound)

    def _record(self, execution_id: str, wait: float = 0.0) -> ExecutionRecord:
        params = {"wait": str(wait)} if wait else None
        body = self._system("GET", _execution_path(execution_id), params=params, wait=wait)
        return decode(body, ExecutionRecord, path="execution")

    def _system(
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
            response = self._send_once(method, path, body, headers, self._auth)
        else:
            response = self._http.request(
                method,
                path,
                json=body if method != "GET" else None,
                params=params,
                headers=headers,
                timeout=self._timeout + wait,
                auth=self._auth,
            )
        return ServiceClient._json_or_raise(response, not_found)

    def _send_once(
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
                response = self._http.request(method, path, json=body, headers=keyed, auth=auth)
            except httpx.TransportError:
                if last:
                    raise
            else:
                if _settled(response, last):
                    return response
            time.sleep(_pause(attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")
