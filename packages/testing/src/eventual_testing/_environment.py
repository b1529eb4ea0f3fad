"""``TestEnvironment``: a service on the production engine, a virtual clock and mocks.

Rejected designs, and why:

* A simulator that imitates the engine (as a fake task runner or a fake clock
  inside workflow code) would let tests pass that production fails. The
  environment instead runs the real ``Engine`` (orchestrator, executor, task
  worker, timer worker, subscription delivery) on the in-memory backend; only
  the clock is a ``ManualClock``, moved by the test.
* Patching task functions (``unittest.mock.patch``) would change them for every
  environment in the process and bypass argument and result encoding. Mocks sit
  instead in stand-in definitions that only this environment's engine looks up
  (``Service.replace``), and mock results cross the same JSON encoding as real
  ones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType, TracebackType
from typing import Any, ClassVar, ParamSpec, TypeVar, overload

import httpx

from eventual import (
    Command,
    DefinitionNotFound,
    Event,
    ExecutionHandle,
    Service,
    Task,
    TaskError,
    Workflow,
)
from eventual.codec import decode, encode
from eventual.spi import DeadLetter, reset_client, set_client
from eventual_engine import (
    Engine,
    EngineOptions,
    ManualClock,
    MemoryBackend,
    load_service,
    sync_schedules,
)
from eventual_messaging import MemoryBus

from ._bus import RecordingBus
from ._client import EnvironmentClient, next_due
from ._explain import explain
from ._http import call_command, open_http
from ._mocks import TaskMock, WorkflowMock
from ._stand_ins import StandInTask, StandInWorkflow

__all__ = ["TestEnvironment"]

P = ParamSpec("P")
R = TypeVar("R")
InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")
PayloadT = TypeVar("PayloadT")


class _Running:
    """What exists only while the environment is entered."""

    def __init__(
        self,
        engine: Engine,
        client: EnvironmentClient,
        bus: RecordingBus,
        http: httpx.AsyncClient,
        tasks: dict[str, StandInTask],
        workflows: dict[str, StandInWorkflow],
    ) -> None:
        self.engine = engine
        self.client = client
        self.bus = bus
        self.http = http
        self.tasks = tasks
        self.workflows = workflows


class TestEnvironment:
    """Runs a service for a test: the production engine, in memory, on a virtual clock.

    Use it as an async context manager; each ``async with`` starts from a fresh
    state (no executions, no mocks, the clock at ``start``). Inside the block the
    environment is the ambient client, so ``wf.start(...)``, ``sig.send(...)``
    and ``ev.publish(...)`` reach it. Time moves only when the test says so.

    Example:
        async with TestEnvironment("orders.service") as env:
            env.mock(reserve_stock).returns(True)
            handle = await env.start(fulfil, Order("o1", "book", 1))
            await env.run_until_idle()
            await handle.signal(approval, True)
            await env.advance(timedelta(minutes=5))
            assert await handle.result() == "shipped"

    Args:
        service: A module path (``"orders.service"``), a module, or a ``Service``.
        start: Where the virtual clock starts (timezone-aware); by default
            :attr:`DEFAULT_START`.
        replay: Replay each execution's whole history at every step instead of
            keeping it live in memory, so workflow code that does not replay the
            same way (reading the wall clock, ``random`` outside ``eventual``)
            fails at once with ``DeterminismError``. Slower; off by default.
        schedules: Run the schedules of scheduled workflows on the virtual
            clock from ``start`` (on by default); with ``False`` nothing starts
            on its own, and a test starts a scheduled workflow directly with
            ``env.start(workflow, None)``.
    """

    __test__: ClassVar[bool] = False  # a class named Test* that pytest must not collect

    DEFAULT_START: ClassVar[datetime] = datetime(2026, 1, 1, tzinfo=UTC)
    """Where the virtual clock starts unless told otherwise: 2026-01-01T00:00:00Z."""

    def __init__(
        self,
        service: str | ModuleType | Service,
        start: datetime | None = None,
        *,
        replay: bool = False,
        schedules: bool = True,
    ) -> None:
        self.service = load_service(service)
        start = self.DEFAULT_START if start is None else start
        if start.tzinfo is None:
            raise ValueError(f"TestEnvironment needs a timezone-aware start, got {start!r}")
        self.start_time = start.astimezone(UTC)
        self.replay = replay
        self.schedules = schedules
        self._running: _Running | None = None
        self._client_token: Any = None

    def __repr__(self) -> str:
        state = "running" if self._running is not None else "not running"
        return f"<TestEnvironment of {self.service.name!r}, {state}>"

    # --- lifecycle ------------------------------------------------------------------

    def _state(self) -> _Running:
        if self._running is None:
            raise RuntimeError(
                "the test environment is not running; use it inside "
                "`async with TestEnvironment(...) as env:`"
            )
        return self._running

    @property
    def engine(self) -> Engine:
        """The engine running the service (only inside ``async with``)."""
        return self._state().engine

    async def __aenter__(self) -> TestEnvironment:
        if self._running is not None:
            raise RuntimeError("this TestEnvironment is already running; enter it once at a time")
        tasks = {name: StandInTask(t) for name, t in self.service.tasks.items()}
        workflows = {name: StandInWorkflow(w) for name, w in self.service.workflows.items()}
        service = self.service.replace([*tasks.values(), *workflows.values()])
        options = EngineOptions(owner="test-environment", cache_size=0 if self.replay else 10_000)
        engine = Engine(
            service, MemoryBackend(), clock=ManualClock(self.start_time), options=options
        )
        await engine.backend.open()
        client = EnvironmentClient(engine)
        # Tasks, subscriptions and commands wait through this client, so a result
        # they await settles pending work on the virtual clock instead of hanging.
        engine.use_client(client)
        bus: RecordingBus | None = None
        http: httpx.AsyncClient | None = None
        try:
            bus = await _open_bus()
            await engine.attach_bus(bus)
            http = open_http(engine, self.service)
            if self.schedules:
                await sync_schedules(engine)
        except BaseException:
            # Nothing runs yet: close what was opened, so a failed start leaks nothing.
            if http is not None:
                await http.aclose()
            if bus is not None:
                await bus.close()
            await engine.backend.close()
            raise
        self._running = _Running(engine, client, bus, http, tasks, workflows)
        self._client_token = set_client(client)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        running = self._state()
        reset_client(self._client_token)
        self._running = None
        # Attempts still running (a task waiting on something that never came)
        # are cancelled rather than awaited: the test is over.
        await running.http.aclose()
        await running.engine.stop(grace=0.0)
        await running.engine.backend.close()
        await running.bus.close()

    # --- time -----------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The virtual clock's current time (timezone-aware UTC)."""
        return self._state().engine.now()

    async def run_until_idle(self) -> None:
        """Do all work that needs no time to pass: orchestration, due timers, tasks, deliveries."""
        await self._state().engine.run_until_idle()

    async def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``, firing due timers in time order.

        Each timer (and delayed task attempt or delivery retry) fires at its own
        instant and the work it causes is settled before the clock moves on.

        Raises:
            TypeError: ``delta`` is not a ``timedelta``.
            ValueError: ``delta`` is negative.
        """
        if not isinstance(delta, timedelta):
            raise TypeError(f"advance takes a timedelta, e.g. timedelta(hours=1), got {delta!r}")
        if delta < timedelta(0):
            raise ValueError(f"the clock cannot go back: advance({delta!r})")
        await self.advance_to(self.now + delta)

    async def advance_to(self, when: datetime) -> None:
        """Move the clock to ``when``, firing due timers in time order (see :meth:`advance`).

        Raises:
            TypeError: ``when`` is not a ``datetime``.
            ValueError: ``when`` is naive or before :attr:`now`.
        """
        if not isinstance(when, datetime):
            raise TypeError(f"advance_to takes a timezone-aware datetime, got {when!r}")
        if when.tzinfo is None:
            raise ValueError(f"advance_to needs a timezone-aware time, got {when!r}")
        if when < self.now:
            raise ValueError(f"the clock cannot go back from {self.now} to {when}")
        await self._state().engine.advance_to(when)

    async def next_due(self) -> datetime | None:
        """Return when the next timer, delayed task attempt or delivery retry is due.

        ``None`` when nothing is scheduled.
        """
        return await next_due(self._state().engine)

    # --- executions -----------------------------------------------------------------

    async def start(
        self, workflow: Workflow[InputT, OutputT], input: InputT, name: str | None = None
    ) -> ExecutionHandle[OutputT]:
        """Start an execution of ``workflow`` and return its handle (nothing runs yet).

        ``await handle.result()`` settles all work first; if the execution then
        still needs time to pass it raises ``ExecutionStillRunning`` instead of
        waiting.
        """
        client = self._state().client
        id_ = await client.start_execution(workflow.name, workflow.encode_input(input), name)
        return ExecutionHandle(id_, control=client, result_type=workflow.output_type)

    def execution(self, execution_id: str) -> ExecutionHandle[Any]:
        """Return a handle on an execution by id."""
        running = self._state()
        workflow = self.service.workflows.get(execution_id.split("/", 1)[0])
        result_type = workflow.output_type if workflow is not None else Any
        return ExecutionHandle(execution_id, control=running.client, result_type=result_type)

    async def explain(self, execution: ExecutionHandle[Any] | str) -> str:
        """Describe an execution: its status, its history as a timeline, what it waits for."""
        engine = self._state().engine
        execution_id = execution if isinstance(execution, str) else execution.id
        record = await engine.execution_record(execution_id)
        return explain(record, await engine.execution_history(execution_id))

    # --- mocks ----------------------------------------------------------------------

    @overload
    def mock(self, definition: Task[P, R]) -> TaskMock[P, R]: ...
    @overload
    def mock(self, definition: Workflow[InputT, OutputT]) -> WorkflowMock[InputT, OutputT]: ...
    def mock(
        self, definition: Task[Any, Any] | Workflow[Any, Any]
    ) -> TaskMock[Any, Any] | WorkflowMock[Any, Any]:
        """Return the mock of a task or workflow of the service (the same one each time).

        A fresh mock answers with the real code and records calls; set answers
        with ``returns``, ``raises``, ``calls(fn)``, ``completes_async`` (tasks)
        and their one-shot variants.

        Raises:
            DefinitionNotFound: The service has no task or workflow of that name.
            TypeError: ``definition`` is neither a task nor a workflow.
        """
        running = self._state()
        if isinstance(definition, Task):
            task = running.tasks.get(definition.name)
            if task is None:
                raise self._not_found("task", definition.name, running.tasks)
            if task.mock is None:
                task.mock = TaskMock(task.original)
            return task.mock
        if isinstance(definition, Workflow):
            workflow = running.workflows.get(definition.name)
            if workflow is None:
                raise self._not_found("workflow", definition.name, running.workflows)
            if workflow.mock is None:
                workflow.mock = WorkflowMock(workflow.original)
            return workflow.mock
        raise TypeError(f"env.mock takes a task or a workflow, got {definition!r}")

    def _not_found(self, kind: str, name: str, known: dict[str, Any]) -> DefinitionNotFound:
        return DefinitionNotFound(
            f"cannot mock {kind} {name!r}: service {self.service.name!r} has no {kind} of that "
            f"name (known: {', '.join(known) or '(none)'}); a definition belongs to a service "
            "when its module is part of it"
        )

    def _task_mock_for(self, token: str) -> TaskMock[Any, Any] | None:
        for task in self._state().tasks.values():
            if task.mock is not None and token in task.mock.tokens:
                return task.mock
        return None

    async def complete_task(self, token: str, result: Any = None) -> None:
        """Finish a task attempt that called ``complete_async()`` with ``result``.

        For a mock's attempt the result is checked against the task's result
        type. Call :meth:`run_until_idle` (or ``handle.result()``) to let the
        workflow see it.

        Raises:
            TypeError: ``result`` does not fit the mocked task's result type.
        """
        mock = self._task_mock_for(token)
        if mock is not None:
            data = encode(mock.check_result(result), mock.task.return_type)
        else:
            data = encode(result)
        await self._state().client.complete_task(token, data)

    async def fail_task(self, token: str, error: BaseException | str) -> None:
        """Fail a task attempt that called ``complete_async()``.

        Args:
            token: The attempt's token (``mock.tokens`` or ``task_info().token``).
            error: An exception (its class name and message are recorded) or a message.
        """
        if isinstance(error, BaseException):
            error_type, message = type(error).__name__, str(error)
        else:
            error_type, message = TaskError.__name__, error
        await self._state().client.fail_task(token, error_type, message)

    # --- HTTP -----------------------------------------------------------------------

    @property
    def http(self) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` answered by the service's HTTP application, in process.

        For routes and raw requests: ``await env.http.get("/orders/o1")``,
        ``await env.http.post("/_rpc/place_order", json={...})``. Requests are
        served by the same ASGI application as in production (routing, input
        validation, middleware, JSON errors); no socket is opened.
        """
        return self._state().http

    async def call(self, command: Command[InputT, OutputT], input: InputT) -> OutputT:
        """Call ``command`` through the real HTTP dispatch (``POST /_rpc/{name}``).

        Raises:
            HttpError: The service answered with an error status (400 for input
                that fails validation, the status of an ``HttpError`` the command
                raised, 500 for any other exception); ``status``, ``message`` and
                ``detail`` are the response's.
            ValidationError: ``input`` does not fit the command's input type, so
                it was not sent (use :attr:`http` to send malformed input).
        """
        return await call_command(self._state().http, command, input)

    # --- events ---------------------------------------------------------------------

    async def publish(self, event: Event[PayloadT], *payloads: PayloadT) -> None:
        """Publish ``payloads`` of ``event`` as any code outside a workflow would.

        Each payload is checked against the event's type. Subscriptions receive
        them at the next :meth:`run_until_idle`.
        """
        events = [(event.name, event.encode_payload(p)) for p in payloads]
        if events:
            await self._state().client.publish_events(events)

    def published(self, event: Event[PayloadT]) -> list[PayloadT]:
        """Return the payloads of ``event`` published so far, oldest first.

        Events from workflows count once their step is settled
        (:meth:`run_until_idle`), like any publish through the bus.
        """
        return [
            decode(e.payload, event.payload_type, path=event.name)
            for e in self._state().bus.envelopes
            if e.name == event.name
        ]

    async def dead_letters(self) -> list[DeadLetter]:
        """Return the events that subscriptions failed on after their last attempt."""
        delivery = self._state().engine.subscriptions
        return [] if delivery is None else await delivery.dead_letters()


async def _open_bus() -> RecordingBus:
    """Open an in-memory bus of eventual-messaging, the ``memory`` bus of its plugin."""
    recording = RecordingBus(MemoryBus())
    await recording.open()
    return recording
