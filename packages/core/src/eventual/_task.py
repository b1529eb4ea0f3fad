"""Tasks: units of work with side effects, scheduled durably by workflows."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any, Generic, NoReturn, ParamSpec, TypeVar, cast, overload

from ._codec import JsonValue, decode, encode
from ._definition import (
    Definition,
    check_name,
    parameters,
    positive_duration_or_none,
    positive_int_or_none,
    resolved_hints,
    source_of,
)
from ._errors import RuntimeNotAvailable, TaskError
from ._info import TaskInfo
from ._retry import RetryPolicy
from ._runtime import (
    TaskRunner,
    current_client,
    current_task_context,
    current_workflow_runtime,
    require_client,
)

__all__ = [
    "CompleteAsync",
    "Task",
    "complete_async",
    "complete_task",
    "fail_task",
    "heartbeat",
    "task",
    "task_info",
]

P = ParamSpec("P")
R = TypeVar("R")


def _timedelta_or_none(what: str, value: timedelta | float | None) -> timedelta | None:
    return positive_duration_or_none(what, value)


class Task(Definition, Generic[P, R]):
    """A task definition; call it with ``await`` from a workflow or anywhere else.

    Inside a workflow the call schedules the task durably and returns its result
    (or raises ``TaskError``/``Timeout``/``HeartbeatTimeout``); anywhere else it
    simply runs the function.

    Attributes:
        fn: The decorated function.
        timeout: Time allowed for one attempt.
        heartbeat_timeout: Longest silence allowed between heartbeats.
        retry: Retry policy; ``None`` means a single attempt.
        memory: Deployment option: memory of the task's own function, in MB.
        concurrency: Deployment option: the most attempts of this task running
            at once (its function's reserved concurrency).
    """

    kind = "task"

    def __init__(
        self,
        fn: Callable[P, Awaitable[R]] | Callable[P, R],
        *,
        name: str | None = None,
        timeout: timedelta | float | None = None,
        heartbeat_timeout: timedelta | float | None = None,
        retry: RetryPolicy | None = None,
        memory: int | None = None,
        concurrency: int | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@task decorates a function, got {fn!r}")
        self.fn = fn
        self.name = check_name("task", name or fn.__name__)
        self.source = source_of(fn)
        self.timeout = _timedelta_or_none(f"task {self.name!r} timeout", timeout)
        self.heartbeat_timeout = _timedelta_or_none(
            f"task {self.name!r} heartbeat_timeout", heartbeat_timeout
        )
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"task {self.name!r}: retry must be a RetryPolicy, got {retry!r}")
        self.retry = retry
        self.memory = positive_int_or_none(f"task {self.name!r} memory", memory)
        self.concurrency = positive_int_or_none(f"task {self.name!r} concurrency", concurrency)
        self.is_async = inspect.iscoroutinefunction(fn)
        self._params = parameters(fn)
        self._signature = inspect.signature(fn)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<task {self.name}>"

    @functools.cached_property
    def _hints(self) -> dict[str, Any]:
        return resolved_hints(self.fn)

    @property
    def return_type(self) -> Any:
        """The declared return type (``Any`` when not annotated)."""
        return self._hints.get("return", Any)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        return self._call(args, kwargs)

    async def _call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
        runtime = current_workflow_runtime()
        if runtime is None:
            client = current_client()
            if isinstance(client, TaskRunner):
                return cast(R, await client.run_task(self, args, kwargs))
            return await self.run(*args, **kwargs)
        encoded = self.encode_args(args, kwargs)
        result = await runtime.call_task(self.name, encoded, self)
        # The codec built a value of the declared type, which mypy only sees as Any.
        return cast(R, decode(result, self.return_type, path=f"{self.name}.result"))

    def encode_args(self, args: Sequence[Any], kwargs: dict[str, Any]) -> list[JsonValue]:
        """Encode call arguments as a JSON list in parameter order."""
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"task {self.name!r}: {error}") from None
        bound.apply_defaults()
        hints = self._hints
        return [encode(bound.arguments[p.name], hints.get(p.name, Any)) for p in self._params]

    def decode_args(self, data: JsonValue) -> tuple[list[Any], dict[str, Any]]:
        """Decode a JSON argument list (from :meth:`encode_args`) into call arguments."""
        if not isinstance(data, list) or len(data) != len(self._params):
            raise TypeError(f"task {self.name!r} takes {len(self._params)} arguments, got {data!r}")
        hints = self._hints
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for p, value in zip(self._params, data, strict=True):
            decoded = decode(value, hints.get(p.name, Any), path=f"{self.name}.{p.name}")
            if p.kind is inspect.Parameter.KEYWORD_ONLY:
                kwargs[p.name] = decoded
            else:
                args.append(decoded)
        return args, kwargs

    async def run(self, *args: Any, **kwargs: Any) -> R:
        """Run the task's body once, in a worker thread for a plain ``def``."""
        # ``is_async`` tells which half of ``fn``'s union type this function is.
        if self.is_async:
            return await cast(Callable[..., Awaitable[R]], self.fn)(*args, **kwargs)
        # to_thread copies context variables, so heartbeat() and task_info() work there.
        return await asyncio.to_thread(cast(Callable[..., R], self.fn), *args, **kwargs)


class _TaskDecorator:
    def __init__(self, **options: Any) -> None:
        self._options = options

    @overload
    def __call__(self, fn: Callable[P, Coroutine[Any, Any, R]]) -> Task[P, R]: ...
    @overload
    def __call__(self, fn: Callable[P, R]) -> Task[P, R]: ...
    def __call__(self, fn: Callable[P, Any]) -> Task[P, Any]:
        return Task(fn, **self._options)


@overload
def task(fn: Callable[P, Coroutine[Any, Any, R]], /) -> Task[P, R]: ...
@overload
def task(fn: Callable[P, R], /) -> Task[P, R]: ...
@overload
def task(
    *,
    name: str | None = None,
    timeout: timedelta | float | None = None,
    heartbeat_timeout: timedelta | float | None = None,
    retry: RetryPolicy | None = None,
    memory: int | None = None,
    concurrency: int | None = None,
) -> _TaskDecorator: ...
def task(
    fn: Callable[P, Any] | None = None,
    /,
    *,
    name: str | None = None,
    timeout: timedelta | float | None = None,
    heartbeat_timeout: timedelta | float | None = None,
    retry: RetryPolicy | None = None,
    memory: int | None = None,
    concurrency: int | None = None,
) -> Task[P, Any] | _TaskDecorator:
    """Define a task: ``@task`` or ``@task(name=, timeout=, heartbeat_timeout=, retry=, ...)``.

    Args:
        fn: The function (when used without parentheses).
        name: The task's name; defaults to the function's name.
        timeout: Time allowed for one attempt (timedelta or seconds).
        heartbeat_timeout: Longest silence between ``heartbeat()`` calls.
        retry: Retry policy; without one a task is attempted once.
        memory: Deployment option: memory of the task's own function, in MB
            (on AWS, 128 to 10240). Running locally ignores it.
        concurrency: Deployment option: the most attempts of this task that run
            at once when deployed (its function's reserved concurrency). Running
            locally ignores it.
    """
    decorator = _TaskDecorator(
        name=name,
        timeout=timeout,
        heartbeat_timeout=heartbeat_timeout,
        retry=retry,
        memory=memory,
        concurrency=concurrency,
    )
    return decorator if fn is None else decorator(fn)


class CompleteAsync(BaseException):
    """Raised by :func:`complete_async`; the task worker leaves the task open.

    A ``BaseException`` so that a task's own ``except Exception`` does not swallow it.
    """


def complete_async() -> NoReturn:
    """End the task body without finishing the task.

    The task is finished later, from anywhere, by ``complete_task(token, result)``
    or ``fail_task(token, error)`` with the token from ``task_info().token``.
    """
    if current_task_context() is None:
        raise RuntimeNotAvailable("complete_async() can only be called from a task run by a worker")
    raise CompleteAsync()


async def heartbeat(details: Any = None) -> None:
    """Tell the engine the running task is alive (resets its heartbeat timeout).

    Args:
        details: Optional JSON-compatible progress information, kept with the task.

    Outside a task worker (a task called as a plain function) this does nothing.
    """
    context = current_task_context()
    if context is not None:
        await context.heartbeat(encode(details))


def task_info() -> TaskInfo:
    """Return the running task attempt's identity and completion token."""
    context = current_task_context()
    if context is None:
        raise RuntimeNotAvailable("task_info() can only be called from a task run by a worker")
    return context.info()


async def complete_task(token: str, result: Any = None) -> None:
    """Finish a task that called ``complete_async()`` with ``result``."""
    await require_client("complete_task()").complete_task(token, encode(result))


async def fail_task(token: str, error: BaseException | str) -> None:
    """Fail a task that called ``complete_async()``.

    Args:
        token: The task's token (``task_info().token``).
        error: An exception (its class name and message are recorded) or a message.
    """
    if isinstance(error, BaseException):
        error_type, message = type(error).__name__, str(error)
    else:
        error_type, message = TaskError.__name__, str(error)
    await require_client("fail_task()").fail_task(token, error_type, message)
