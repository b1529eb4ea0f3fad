"""``LocalRuntime``: run a whole service inside the caller's process."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, TypeVar

import attrs

from eventual import (
    Command,
    EventualError,
    ExecutionHandle,
    RuntimeNotAvailable,
    Service,
    Workflow,
)
from eventual.codec import encode
from eventual.plugins import EventualConfig, Plugins, get_plugin_manager
from eventual.spi import (
    Backend,
    DeadLetter,
    DefaultClient,
    EventBus,
    SubscriptionDelivery,
    add_default_client,
    reset_client,
    set_client,
)

from . import _plugin
from ._engine import Engine, EngineOptions
from ._schedules import sync_schedules

__all__ = ["LocalRuntime", "load_service"]

InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")


def load_service(service: str | ModuleType | Service) -> Service:
    """Return a ``Service`` from a module path, a module or a service."""
    return service if isinstance(service, Service) else Service.load(service)


_ENGINE_SECONDS = {
    "lease_seconds": "how long a claim lasts without renewal",
    "poll_interval": "the longest pause between looks for other processes' work",
}
_ENGINE_COUNTS = {
    "task_concurrency": "the most task attempts running at once in this process",
    "task_threads": "the most plain def task bodies running at once in this process",
}


def engine_options(settings: dict[str, object]) -> EngineOptions | None:
    """Return engine options from settings, if any.

    ``lease_seconds`` and ``poll_interval`` are positive numbers of seconds;
    ``task_concurrency`` and ``task_threads`` positive whole numbers; as
    ``[tool.eventual]``, ``eventual local`` flags or ``LocalRuntime(settings=...)``
    give them (numbers or strings).

    Raises:
        EventualError: A setting is out of its range; the error names it.
    """
    seconds: dict[str, float] = {}
    for key, meaning in _ENGINE_SECONDS.items():
        raw = settings.get(key)
        if raw is None:
            continue
        try:
            value = float(str(raw))
        except ValueError:
            value = float("nan")
        if not (0 < value < 86_400):  # also refuses NaN and infinity
            raise EventualError(
                f"{key} must be a positive number of seconds (below a day), got {raw!r}: "
                f"it is {meaning}"
            )
        seconds[key] = value
    counts: dict[str, int] = {}
    for key, meaning in _ENGINE_COUNTS.items():
        raw = settings.get(key)
        if raw is None:
            continue
        text = str(raw).strip()
        if isinstance(raw, bool) or not text.isdigit() or not (1 <= int(text) <= 100_000):
            raise EventualError(
                f"{key} must be a whole number from 1 to 100000, got {raw!r}: it is {meaning}"
            )
        counts[key] = int(text)
    if not seconds and not counts:
        return None
    defaults = EngineOptions()
    return attrs.evolve(
        defaults,
        lease=timedelta(seconds=seconds.get("lease_seconds", defaults.lease.total_seconds())),
        poll_interval=seconds.get("poll_interval", defaults.poll_interval),
        task_concurrency=counts.get("task_concurrency", defaults.task_concurrency),
        task_threads=counts.get("task_threads", defaults.task_threads),
    )


class LocalRuntime:
    """Runs a service (workers, timers, tasks) in this process on the embedded backend.

    ``LocalRuntime(service, db=PATH)`` keeps state in a SQLite file, so executions
    survive restarts; ``db=None`` keeps it in memory. ``backend=`` names another
    backend provided by a plugin, ``event_bus=`` another event bus (by default the
    backend's own bus when a plugin offers one of the same name, as
    ``"postgres"``, else the durable local bus of eventual-messaging when it is
    installed: in the same file as the executions, or in ``bus_db`` to share one
    bus between services), and
    ``settings`` passes further options to them (for example
    ``{"sqlite_synchronous": "FULL"}``) and to the engine (``lease_seconds``,
    ``poll_interval``, ``task_concurrency``, ``task_threads``) unless ``options``
    is given. Inside ``async with``, ``wf.start(...)``, ``sig.send(...)``,
    ``ev.publish(...)`` and handles use this runtime; while it is open it is also
    the default for every other task of its event loop and for
    other threads (a web framework's request handlers), unless a client opened
    later or an explicit context says otherwise (see docs/embedding.md).

    When it starts, the schedulers of the service's scheduled workflows are
    started or brought in step with the code (``schedules=False`` leaves them
    alone), and run on durable timers while it runs (see docs/workflows.md,
    "Schedules").

    Example:
        async with LocalRuntime("orders.service", db="orders.db") as rt:
            handle = await rt.start(fulfil, order)
            print(await handle.result())
    """

    def __init__(
        self,
        service: str | ModuleType | Service,
        db: str | os.PathLike[str] | None = None,
        *,
        backend: str | None = None,
        event_bus: str | None = None,
        bus_db: str | os.PathLike[str] | None = None,
        settings: dict[str, object] | None = None,
        options: EngineOptions | None = None,
        schedules: bool = True,
    ) -> None:
        self.service = load_service(service)
        self.schedules = schedules
        self.db = Path(db) if db is not None else None
        self.backend = backend
        self.event_bus = event_bus
        self.bus_db = Path(bus_db) if bus_db is not None else self.db
        self.settings = dict(settings or {})
        self._options = options if options is not None else engine_options(self.settings)
        self._bus: EventBus | None = None
        self._engine: Engine | None = None
        self._serving: asyncio.Task[None] | None = None
        self._token: Any = None
        self._default: DefaultClient | None = None

    @property
    def engine(self) -> Engine:
        """The running engine (only inside ``async with``)."""
        if self._engine is None:
            raise RuntimeError("LocalRuntime is not running; use `async with LocalRuntime(...)`")
        return self._engine

    def _plugins(self) -> Plugins:
        # Backends and buses come from plugins, the engine's own included, so a
        # third-party one is chosen the same way.
        manager = get_plugin_manager()
        if not manager.is_registered(_plugin):
            manager.register(_plugin)
        return Plugins(manager)

    async def _open_backend(self, plugins: Plugins) -> Backend:
        name = self.backend or ("memory" if self.db is None else "sqlite")
        config = EventualConfig(
            backend=name, db=None if self.db is None else str(self.db), options=self.settings
        )
        backend = plugins.backend(name).create(config)
        await backend.open()
        return backend

    async def _open_bus(self, plugins: Plugins) -> EventBus | None:
        buses = plugins.event_buses()
        if self.event_bus is None and not buses:
            return None  # no bus installed: workflow publishes wait in the outbox
        # Without a bus named, a backend's own bus (one of the same name) goes with it.
        own = self.backend if self.backend in buses else None
        name = self.event_bus or own or ("memory" if self.bus_db is None else "sqlite")
        config = EventualConfig(
            event_bus=name,
            db=None if self.bus_db is None else str(self.bus_db),
            options=self.settings,
        )
        bus = plugins.event_bus(name).create(config)
        await bus.open()
        return bus

    async def __aenter__(self) -> LocalRuntime:
        plugins = self._plugins()
        backend = await self._open_backend(plugins)
        try:
            self._engine = Engine(self.service, backend, options=self._options)
            self._bus = await self._open_bus(plugins)
            if self._bus is not None:
                await self._engine.attach_bus(self._bus)
            if self.schedules:
                await sync_schedules(self._engine)
        except BaseException:
            # Nothing runs yet: close what was opened, so a failed start leaks no connection.
            if self._bus is not None:
                await self._bus.close()
                self._bus = None
            await backend.close()
            self._engine = None
            raise
        self._serving = asyncio.create_task(self._engine.serve(), name="eventual local runtime")
        self._token = set_client(self._engine)
        self._default = add_default_client(self._engine)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        engine = self.engine
        if self._default is not None:
            self._default.dispose()
            self._default = None
        with contextlib.suppress(ValueError):
            # Entered in another context (an exit stack closed by another task):
            # that context's value is its own to drop.
            reset_client(self._token)
        await engine.stop()
        if self._serving is not None:
            self._serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._serving
        await engine.backend.close()
        if self._bus is not None:
            await self._bus.close()
            self._bus = None
        self._engine = None

    async def start(
        self, workflow: Workflow[InputT, OutputT], input: InputT, name: str | None = None
    ) -> ExecutionHandle[OutputT]:
        """Start an execution of ``workflow`` and return its handle."""
        id_ = await self.engine.start_execution(workflow.name, workflow.encode_input(input), name)
        return ExecutionHandle(id_, control=self.engine, result_type=workflow.output_type)

    def execution(self, execution_id: str) -> ExecutionHandle[Any]:
        """Return a handle on an execution by id."""
        workflow = self.service.workflows.get(execution_id.split("/", 1)[0])
        result_type = workflow.output_type if workflow is not None else Any
        return ExecutionHandle(execution_id, control=self.engine, result_type=result_type)

    async def dead_letters(self, *, limit: int = 100, after: str | None = None) -> list[DeadLetter]:
        """Return this service's dead letters, oldest first (after the id ``after``).

        Raises:
            RuntimeNotAvailable: No event bus is installed (eventual-messaging).
        """
        return await self._delivery().dead_letters(limit=limit, after=after)

    async def redrive(self, ids: Sequence[str] | None = None) -> int:
        """Deliver dead letters again (all when ``ids`` is None); return how many.

        Raises:
            RuntimeNotAvailable: No event bus is installed (eventual-messaging).
        """
        return await self._delivery().redrive(ids)

    def _delivery(self) -> SubscriptionDelivery:
        delivery = self.engine.subscriptions
        if delivery is None:
            raise RuntimeNotAvailable(
                "this runtime has no event bus, so no dead letters; install eventual-messaging"
            )
        return delivery

    async def call(self, command: Command[InputT, OutputT], input: InputT) -> OutputT:
        """Call a command's handler in this runtime (its input checked against its type)."""
        decoded = command.decode_input(encode(input, command.input_type))
        return await command(decoded)
