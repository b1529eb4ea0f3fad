"""Workflows: durable ``async def`` functions replayed deterministically."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, Generic, TypeVar, cast, overload

from ulid import ULID

from ._codec import JsonValue, decode, encode
from ._definition import Definition, check_name, parameters, resolved_hints, source_of
from ._errors import ValidationError
from ._handle import ExecutionHandle
from ._runtime import current_client, current_workflow_runtime, require_client
from ._schedule import Schedule
from ._task import _timedelta_or_none

__all__ = ["RESERVED_PREFIX", "Workflow", "execution_id", "new_execution_name", "workflow"]

RESERVED_PREFIX = "eventual."
"""Workflow names starting with this belong to eventual itself (the schedulers)."""

InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")


def new_execution_name() -> str:
    """Return a fresh execution name (a ULID, sortable by creation time)."""
    return str(ULID())


MAX_EXECUTION_NAME = 256
"""The longest execution name, in characters: ids are keys in every store and queue."""


def execution_id(workflow: str, name: str) -> str:
    """Return the execution id of ``workflow`` started with ``name``.

    Raises:
        ValidationError: (a ``ValueError``, path ``name``) the name is empty,
            holds a ``/`` or is longer than ``MAX_EXECUTION_NAME`` characters.
    """
    if len(name) > MAX_EXECUTION_NAME:
        raise ValidationError(
            "name",
            f"invalid execution name {name[:40]!r}... of {len(name)} characters: "
            f"at most {MAX_EXECUTION_NAME}",
        )
    if not name or "/" in name:
        raise ValidationError(
            "name", f"invalid execution name {name!r}: must be non-empty without '/'"
        )
    return f"{workflow}/{name}"


class Workflow(Definition, Generic[InputT, OutputT]):
    """A workflow definition.

    ``await wf.start(input, name=None)`` starts an execution from anywhere.
    Inside a workflow, ``await wf(input)`` runs a child execution and returns its
    result, and ``wf.start(...)`` starts a child without waiting.

    A workflow takes one input parameter, or none (its input is then ``None``).

    Attributes:
        fn: The decorated ``async def``.
        timeout: The longest an execution may run before it times out.
        schedule: When the workflow starts on its own (``None``: only when started).
    """

    kind = "workflow"

    def __init__(
        self,
        fn: Callable[[InputT], Coroutine[Any, Any, OutputT]],
        *,
        name: str | None = None,
        timeout: timedelta | float | None = None,
        schedule: Schedule | None = None,
        _builtin: bool = False,
    ) -> None:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"@workflow needs an async def, got {source_of(fn)}")
        params = parameters(fn)
        if len(params) > 1:
            raise TypeError(
                f"workflow {source_of(fn)} must take one input parameter or none, "
                f"it takes {len(params)}"
            )
        self.fn = fn
        self.name = check_name("workflow", name or fn.__name__)
        if self.name.startswith(RESERVED_PREFIX) and not _builtin:
            raise ValueError(
                f"invalid workflow name {self.name!r}: names starting with "
                f"{RESERVED_PREFIX!r} are reserved for eventual's own workflows; rename it"
            )
        self.source = source_of(fn)
        self.timeout = _timedelta_or_none(f"workflow {self.name!r} timeout", timeout)
        if schedule is not None and not isinstance(schedule, Schedule):
            raise TypeError(
                f"workflow {self.name!r} schedule must be a Schedule "
                f"(Schedule.cron(...) or Schedule.every(...)), got {schedule!r}"
            )
        if schedule is not None and params:
            raise TypeError(
                f"scheduled workflow {source_of(fn)} must take no parameter, it takes "
                f"{params[0].name!r}: a scheduled run has no input (its execution name "
                "is its scheduled time)"
            )
        self.schedule = schedule
        self._param = params[0].name if params else None
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<workflow {self.name}>"

    @functools.cached_property
    def _hints(self) -> dict[str, Any]:
        return resolved_hints(self.fn)

    @property
    def input_type(self) -> Any:
        """The declared input type (``Any`` when not annotated, ``NoneType`` without input)."""
        return type(None) if self._param is None else self._hints.get(self._param, Any)

    @property
    def output_type(self) -> Any:
        """The declared result type (``Any`` when not annotated)."""
        return self._hints.get("return", Any)

    def encode_input(self, input: InputT) -> JsonValue:
        """Encode an input by the declared type (raises ``ValidationError``)."""
        return encode(input, self.input_type)

    def decode_input(self, data: JsonValue) -> InputT:
        """Decode a JSON input into the declared type (raises ``ValidationError``)."""
        # The codec built a value of the declared type, which mypy only sees as Any.
        return cast(InputT, decode(data, self.input_type, path="input"))

    def run(self, input: InputT) -> Coroutine[Any, Any, OutputT]:
        """Return the body's coroutine for a decoded input (dropped for a workflow without one)."""
        if self._param is None:
            # Typed as taking one input (``None``), the function takes none.
            return cast(Callable[[], Coroutine[Any, Any, OutputT]], self.fn)()
        return self.fn(input)

    def handle(self, execution_id: str) -> ExecutionHandle[OutputT]:
        """Return a handle on an execution of this workflow by id."""
        return ExecutionHandle(execution_id, result_type=self.output_type)

    def __call__(self, input: InputT) -> Coroutine[Any, Any, OutputT]:
        return self._call(input)

    async def _call(self, input: InputT) -> OutputT:
        data = self.encode_input(input)
        runtime = current_workflow_runtime()
        if runtime is not None:
            result = await runtime.call_workflow(self.name, data, None)
        else:
            client = require_client(f"calling workflow {self.name!r}")
            id_ = await client.start_execution(self.name, data, None)
            result = await client.execution_result(id_)
        return cast(OutputT, decode(result, self.output_type, path="result"))

    async def start(self, input: InputT, name: str | None = None) -> ExecutionHandle[OutputT]:
        """Start an execution and return its handle without waiting.

        Args:
            input: The workflow's input; checked against its declared type.
            name: The execution's name; a new ULID by default. Starting again with
                the same name and input returns the same execution.

        Raises:
            ExecutionAlreadyExists: ``name`` is taken by an execution with another input.
            ValidationError: ``input`` does not fit the declared type.
        """
        data = self.encode_input(input)
        if name is not None:
            execution_id(self.name, name)
        runtime = current_workflow_runtime()
        if runtime is not None:
            id_ = await runtime.start_workflow(self.name, data, name)
            return ExecutionHandle(id_, result_type=self.output_type)
        client = current_client() or require_client(f"{self.name}.start()")
        id_ = await client.start_execution(self.name, data, name)
        return ExecutionHandle(id_, control=client, result_type=self.output_type)


class _WorkflowDecorator:
    def __init__(self, **options: Any) -> None:
        self._options = options

    # A workflow without input is typed as taking ``None`` (what it is started with).
    @overload
    def __call__(
        self, fn: Callable[[], Coroutine[Any, Any, OutputT]]
    ) -> Workflow[None, OutputT]: ...
    @overload
    def __call__(
        self, fn: Callable[[InputT], Coroutine[Any, Any, OutputT]]
    ) -> Workflow[InputT, OutputT]: ...
    def __call__(self, fn: Callable[..., Coroutine[Any, Any, Any]]) -> Workflow[Any, Any]:
        return Workflow(fn, **self._options)


@overload
def workflow(fn: Callable[[], Coroutine[Any, Any, OutputT]], /) -> Workflow[None, OutputT]: ...
@overload
def workflow(
    fn: Callable[[InputT], Coroutine[Any, Any, OutputT]], /
) -> Workflow[InputT, OutputT]: ...
@overload
def workflow(
    *,
    name: str | None = None,
    timeout: timedelta | float | None = None,
    schedule: Schedule | None = None,
) -> _WorkflowDecorator: ...
def workflow(
    fn: Callable[..., Coroutine[Any, Any, Any]] | None = None,
    /,
    *,
    name: str | None = None,
    timeout: timedelta | float | None = None,
    schedule: Schedule | None = None,
) -> Workflow[Any, Any] | _WorkflowDecorator:
    """Define a workflow: ``@workflow`` or ``@workflow(name=, timeout=, schedule=)``.

    Args:
        fn: The ``async def`` taking one input or none (when used without parentheses).
        name: The workflow's name; defaults to the function's name.
        timeout: The longest an execution may run (timedelta or seconds).
        schedule: Start the workflow on its own, on a cron expression or an
            interval (``Schedule.cron(...)``, ``Schedule.every(...)``); a
            scheduled workflow takes no parameter. See docs/workflows.md,
            "Schedules".
    """
    decorator = _WorkflowDecorator(name=name, timeout=timeout, schedule=schedule)
    return decorator if fn is None else decorator(fn)
