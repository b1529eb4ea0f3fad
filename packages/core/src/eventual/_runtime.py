"""The seams between user-facing definitions and whatever runs them.

Definitions in core (workflows, tasks, signals, events) do not know which engine
runs them. They talk to one of three ambient contexts, held in context variables
so that concurrent executions in one process never see each other:

* a :class:`WorkflowRuntime` while workflow code runs inside the executor;
* a :class:`TaskContext` while a task body runs in a task worker;
* a :class:`Client` anywhere else (a command handler, a subscription, a test, a
  script inside ``LocalRuntime``), which starts executions, sends signals and
  publishes events.

Engines, test environments and remote clients implement these protocols; values
cross them as JSON (:data:`eventual._codec.JsonValue`), so a remote client and an
in-process engine look the same to a definition.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, runtime_checkable

from ._defaults import default_client, for_this_loop
from ._errors import RuntimeNotAvailable

if TYPE_CHECKING:
    from uuid import UUID

    from ._codec import JsonValue
    from ._history import HistoryEvent
    from ._info import ExecutionInfo, ExecutionStatus, TaskInfo

__all__ = [
    "Client",
    "Disposable",
    "ExecutionControl",
    "TaskCallOptions",
    "TaskContext",
    "TaskRunner",
    "WorkflowRuntime",
    "current_client",
    "current_task_context",
    "current_workflow_runtime",
    "require_client",
    "reset_client",
    "set_client",
    "set_workflow_runtime",
    "use_client",
    "use_task_context",
    "use_workflow_runtime",
]


class Disposable(Protocol):
    """Something that can be switched off, such as a signal handler."""

    def dispose(self) -> None:
        """Stop it; calling again does nothing."""


class WorkflowRuntime(Protocol):
    """What workflow code talks to while it runs inside the executor.

    Every method that returns an awaitable records a durable, sequence-numbered
    call in the execution's history; on replay it is checked against the record.
    """

    def info(self) -> ExecutionInfo:
        """Return the running execution's identity."""

    def now(self) -> datetime:
        """Return the deterministic current time (UTC)."""

    def random(self) -> float:
        """Return a deterministic pseudo-random float in [0, 1)."""

    def uuid4(self) -> UUID:
        """Return a deterministic random UUID."""

    def call_task(
        self, task: str, args: Sequence[JsonValue], options: TaskCallOptions
    ) -> Awaitable[JsonValue]:
        """Schedule a task and wait for its JSON result (raises ``TaskError``, ``Timeout``)."""

    def call_workflow(
        self, workflow: str, input: JsonValue, name: str | None
    ) -> Awaitable[JsonValue]:
        """Run a child execution and wait for its JSON result (raises ``WorkflowFailed``)."""

    def start_workflow(self, workflow: str, input: JsonValue, name: str | None) -> Awaitable[str]:
        """Start a child execution without waiting; returns its execution id."""

    def sleep_until(self, when: datetime) -> Awaitable[None]:
        """Wait on a durable timer."""

    def expect_signal(self, signal: str, timeout: timedelta | None) -> Awaitable[JsonValue]:
        """Take the next signal of that name, waiting for one (raises ``Timeout``)."""

    def on_signal(self, signal: str, handler: Callable[[JsonValue], object]) -> Disposable:
        """Call ``handler`` with every signal of that name, kept ones first."""

    def send_signal(self, execution_id: str, signal: str, payload: JsonValue) -> Awaitable[None]:
        """Send a signal to another execution, recorded exactly once."""

    def publish(self, events: Sequence[tuple[str, JsonValue]]) -> Awaitable[None]:
        """Publish events (name, payload), recorded and delivered exactly once."""

    def condition(
        self, predicate: Callable[[], bool], timeout: timedelta | None
    ) -> Awaitable[bool]:
        """Wait until ``predicate()`` holds; False when the timeout passes first."""

    def execution_control(self) -> ExecutionControl:
        """Return what handles of child executions use from inside the workflow."""

    def patched(self, patch: str, *, deprecated: bool) -> bool:
        """Tell whether the execution takes patch ``patch``, recording it when it does."""

    def is_replaying(self) -> bool:
        """Tell whether the code is re-running steps its history already records."""

    def continue_as_new(self, input: Any) -> NoReturn:
        """End this run; the execution continues with ``input`` (of the workflow's type)."""

    def log_tags(self) -> dict[str, Any]:
        """Return the attributes of workflow code's log records (``execution_id``, ``seq``)."""

    def keep_log(self, level: str, message: str) -> None:
        """Keep a log record of workflow code with the execution.

        Told on replay too (the runtime counts lines to key them, and drops them then).
        """


class ExecutionControl(Protocol):
    """Operations on an execution by id, used by :class:`ExecutionHandle`."""

    async def execution_status(self, execution_id: str) -> ExecutionStatus:
        """Return the execution's status (raises ``ExecutionNotFound``)."""

    async def execution_result(self, execution_id: str) -> JsonValue:
        """Wait for the execution to end; return its JSON result or raise ``WorkflowFailed``."""

    async def execution_history(self, execution_id: str) -> list[HistoryEvent]:
        """Return the execution's recorded history."""

    async def cancel_execution(self, execution_id: str) -> None:
        """Ask the execution to cancel; does nothing if it has ended."""

    async def send_signal(self, execution_id: str, signal: str, payload: JsonValue) -> None:
        """Deliver a signal; discarded if the execution has ended."""


class Client(ExecutionControl, Protocol):
    """What code outside workflows uses to drive a service."""

    def now(self) -> datetime:
        """Return the current time as this runtime sees it (virtual in tests)."""

    async def start_execution(
        self, workflow: str, input: JsonValue, name: str | None, *, parent_id: str | None = None
    ) -> str:
        """Start an execution; returns its id (raises ``ExecutionAlreadyExists``)."""

    async def publish_events(self, events: Sequence[tuple[str, JsonValue]]) -> None:
        """Publish events given as (event name, JSON payload)."""

    async def complete_task(self, token: str, result: JsonValue) -> None:
        """Finish an asynchronously completed task with a JSON result."""

    async def fail_task(self, token: str, error_type: str, message: str) -> None:
        """Fail an asynchronously completed task."""


@runtime_checkable
class TaskRunner(Protocol):
    """A client that decides how a task called outside any workflow runs.

    Optional: a client implementing it (the test environment's, which applies
    mocks) is asked to run ``await some_task(...)`` made outside a workflow;
    otherwise the task's function simply runs.
    """

    async def run_task(self, task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run ``task`` with the call's arguments and return its result."""


class TaskContext(Protocol):
    """What a task body reaches while it runs in a worker."""

    def info(self) -> TaskInfo:
        """Return the running attempt's identity."""

    async def heartbeat(self, details: JsonValue) -> None:
        """Report that the task is alive, with optional JSON progress details."""

    def log_tags(self) -> dict[str, Any]:
        """Return the attributes of a task body's log records (``execution_id``, ``seq``, ...)."""

    def keep_log(self, level: str, message: str) -> None:
        """Keep a log record of the task body with its execution."""


class TaskCallOptions(Protocol):
    """Options of a task call that the engine needs (a ``Task`` satisfies it)."""

    @property
    def timeout(self) -> timedelta | None:
        """Time allowed for one attempt."""

    @property
    def heartbeat_timeout(self) -> timedelta | None:
        """Longest silence between heartbeats."""


_workflow_runtime: contextvars.ContextVar[WorkflowRuntime | None] = contextvars.ContextVar(
    "eventual_workflow_runtime", default=None
)
_task_context: contextvars.ContextVar[TaskContext | None] = contextvars.ContextVar(
    "eventual_task_context", default=None
)
_client: contextvars.ContextVar[Client | None] = contextvars.ContextVar(
    "eventual_client", default=None
)


def current_workflow_runtime() -> WorkflowRuntime | None:
    """Return the workflow runtime when called from workflow code, else None."""
    return _workflow_runtime.get()


def current_task_context() -> TaskContext | None:
    """Return the task context when called from a task body in a worker, else None."""
    return _task_context.get()


def current_client() -> Client | None:
    """Return the ambient client (engine, test environment or remote client), if any.

    The innermost explicit one (:func:`use_client`, :func:`set_client`, the
    ``async with`` block of a runtime) wins; without one, the default of an open
    runtime or client (``eventual._defaults``).
    """
    client = _client.get()
    return for_this_loop(client) if client is not None else default_client()


def require_client(what: str) -> Client:
    """Return the ambient client or raise a clear error naming ``what`` needed it."""
    client = current_client()
    if client is None:
        raise RuntimeNotAvailable(
            f"{what} needs a running eventual runtime, and none is active here. "
            "Run it inside a service (eventual local), inside "
            "`async with eventual_engine.LocalRuntime(service):`, inside "
            "`async with eventual_testing.TestEnvironment(service):`, or use a ServiceClient."
        )
    return client


@contextlib.contextmanager
def _use(var: contextvars.ContextVar[Any], value: object) -> Iterator[None]:
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def use_workflow_runtime(
    runtime: WorkflowRuntime | None,
) -> contextlib.AbstractContextManager[None]:
    """Make ``runtime`` the workflow runtime for code run inside the ``with`` block."""
    return _use(_workflow_runtime, runtime)


def use_task_context(context: TaskContext | None) -> contextlib.AbstractContextManager[None]:
    """Make ``context`` the task context for code run inside the ``with`` block."""
    return _use(_task_context, context)


def use_client(client: Client | None) -> contextlib.AbstractContextManager[None]:
    """Make ``client`` the ambient client for code run inside the ``with`` block."""
    return _use(_client, client)


def set_workflow_runtime(
    runtime: WorkflowRuntime | None,
) -> contextvars.Token[WorkflowRuntime | None]:
    """Set the workflow runtime in the current context (engines call it in a fresh context)."""
    return _workflow_runtime.set(runtime)


def set_client(client: Client | None) -> contextvars.Token[Client | None]:
    """Set the ambient client until :func:`reset_client` (for async context managers)."""
    return _client.set(client)


def reset_client(token: contextvars.Token[Client | None]) -> None:
    """Undo :func:`set_client`."""
    _client.reset(token)
