"""``LocalRuntime``: run a whole service inside the caller's process."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, TypeVar, cast

from eventual import Command, ExecutionHandle, Service, Workflow
from eventual.codec import encode
from eventual.plugins import EventualConfig, Plugins, get_plugin_manager
from eventual.spi import Backend, reset_client, set_client

from . import _plugin
from ._engine import Engine, EngineOptions

__all__ = ["LocalRuntime", "load_service"]

InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")


def load_service(service: str | ModuleType | Service) -> Service:
    """Return a ``Service`` from a module path, a module or a service."""
    return service if isinstance(service, Service) else Service.load(service)


class LocalRuntime:
    """Runs a service (workers, timers, tasks) in this process on the embedded backend.

    ``LocalRuntime(service, db=PATH)`` keeps state in a SQLite file, so executions
    survive restarts; ``db=None`` keeps it in memory. ``backend=`` names another
    backend provided by a plugin. Inside ``async with``,
    ``wf.start(...)``, ``sig.send(...)`` and handles use this runtime.

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
        options: EngineOptions | None = None,
    ) -> None:
        self.service = load_service(service)
        self.db = Path(db) if db is not None else None
        self.backend = backend
        self._options = options
        self._engine: Engine | None = None
        self._serving: asyncio.Task[None] | None = None
        self._token: Any = None

    @property
    def engine(self) -> Engine:
        """The running engine (only inside ``async with``)."""
        if self._engine is None:
            raise RuntimeError("LocalRuntime is not running; use `async with LocalRuntime(...)`")
        return self._engine

    async def _open_backend(self) -> Backend:
        # Backends come from plugins, the engine's own included, so a third-party
        # backend is chosen the same way.
        manager = get_plugin_manager()
        if not manager.is_registered(_plugin):
            manager.register(_plugin)
        name = self.backend or ("memory" if self.db is None else "sqlite")
        config = EventualConfig(backend=name, db=None if self.db is None else str(self.db))
        # Providers return ``object`` (core cannot name the engine's protocol
        # types in the hook); what a backend provider creates is a Backend.
        backend = cast(Backend, Plugins(manager).backend(name).create(config))
        await backend.open()
        return backend

    async def __aenter__(self) -> LocalRuntime:
        backend = await self._open_backend()
        self._engine = Engine(self.service, backend, options=self._options)
        self._serving = asyncio.create_task(self._engine.serve(), name="eventual local runtime")
        self._token = set_client(self._engine)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        engine = self.engine
        reset_client(self._token)
        await engine.stop()
        if self._serving is not None:
            self._serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._serving
        await engine.backend.close()
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

    async def call(self, command: Command[InputT, OutputT], input: InputT) -> OutputT:
        """Call a command's handler in this runtime (its input checked against its type)."""
        decoded = command.decode_input(encode(input, command.input_type))
        return await command(decoded)
