"""Commands: typed RPC endpoints, optionally also REST routes."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, Generic, TypeVar, cast, overload

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
from ._http import HTTP_METHODS, RoutePattern

__all__ = ["Command", "command"]

InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")


class Command(Definition, Generic[InputT, OutputT]):
    """A command: ``POST /_rpc/{name}`` with a typed input and output.

    With ``path`` it is also a REST route whose path parameters, query and body
    fill the input. Calling the command object runs the handler directly.

    Attributes:
        fn: The handler, an ``async def`` taking zero or one input.
        path: Optional REST path pattern.
        method: HTTP method of the REST route.
        timeout: Deployment option: the time a call may take.
        memory: Deployment option: memory of the function serving it, in MB.
    """

    kind = "command"

    def __init__(
        self,
        fn: Callable[[InputT], Coroutine[Any, Any, OutputT]],
        *,
        name: str | None = None,
        path: str | None = None,
        method: str = "POST",
        timeout: timedelta | float | None = None,
        memory: int | None = None,
    ) -> None:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"@command needs an async def, got {source_of(fn)}")
        params = parameters(fn)
        if len(params) > 1:
            raise TypeError(f"command {source_of(fn)} must take at most one input parameter")
        method = method.upper()
        if method not in HTTP_METHODS:
            raise ValueError(f"command {source_of(fn)}: unsupported method {method!r}")
        self.fn = fn
        self.name = check_name("command", name or fn.__name__)
        self.source = source_of(fn)
        self.path = RoutePattern(path) if path is not None else None
        self.method = method
        self.timeout = positive_duration_or_none(f"command {self.name!r} timeout", timeout)
        self.memory = positive_int_or_none(f"command {self.name!r} memory", memory)
        self._param = params[0].name if params else None
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<command {self.name}>"

    @functools.cached_property
    def _hints(self) -> dict[str, Any]:
        return resolved_hints(self.fn)

    @property
    def input_type(self) -> Any:
        """The declared input type; ``NoneType`` for a command without input."""
        return type(None) if self._param is None else self._hints.get(self._param, Any)

    @property
    def output_type(self) -> Any:
        """The declared output type (``Any`` when not annotated)."""
        return self._hints.get("return", Any)

    def decode_input(self, data: JsonValue) -> InputT:
        """Decode a JSON input into the declared type (raises ``ValidationError``)."""
        # The codec built a value of the declared type, which mypy only sees as Any.
        return cast(InputT, decode(data, self.input_type, path="input"))

    def encode_output(self, output: OutputT) -> JsonValue:
        """Encode an output by the declared type."""
        return encode(output, self.output_type)

    async def __call__(self, input: InputT) -> OutputT:
        if self._param is None:
            # Declared with one input, the handler takes none (see ``command``'s overloads).
            handler = cast(Callable[[], Coroutine[Any, Any, OutputT]], self.fn)
            return await handler()
        return await self.fn(input)


class _CommandDecorator:
    def __init__(self, **options: Any) -> None:
        self._options = options

    # A command without input is typed as taking ``None`` (what it receives over HTTP).
    @overload
    def __call__(
        self, fn: Callable[[], Coroutine[Any, Any, OutputT]]
    ) -> Command[None, OutputT]: ...
    @overload
    def __call__(
        self, fn: Callable[[InputT], Coroutine[Any, Any, OutputT]]
    ) -> Command[InputT, OutputT]: ...
    def __call__(self, fn: Callable[..., Coroutine[Any, Any, Any]]) -> Command[Any, Any]:
        return Command(fn, **self._options)


@overload
def command(fn: Callable[[], Coroutine[Any, Any, OutputT]], /) -> Command[None, OutputT]: ...
@overload
def command(
    fn: Callable[[InputT], Coroutine[Any, Any, OutputT]], /
) -> Command[InputT, OutputT]: ...
@overload
def command(
    *,
    name: str | None = None,
    path: str | None = None,
    method: str = "POST",
    timeout: timedelta | float | None = None,
    memory: int | None = None,
) -> _CommandDecorator: ...
def command(
    fn: Callable[..., Coroutine[Any, Any, Any]] | None = None,
    /,
    *,
    name: str | None = None,
    path: str | None = None,
    method: str = "POST",
    timeout: timedelta | float | None = None,
    memory: int | None = None,
) -> Command[Any, Any] | _CommandDecorator:
    """Define a command: ``@command`` or ``@command(name=, path=, method=)``.

    Args:
        fn: The ``async def`` handler (when used without parentheses).
        name: The command's name, served at ``POST /_rpc/{name}``.
        path: Also serve it as a REST route at this path pattern.
        method: The REST route's method (default POST).
        timeout: Deployment option: the time a call may take when deployed
            (timedelta or seconds; on AWS at most 30 s, API Gateway's limit).
        memory: Deployment option: memory of the function serving it, in MB (on
            AWS, 128 to 10240).

    A command that sets ``timeout`` or ``memory`` is served by a function of its
    own when deployed; the others share one. Running locally ignores both.
    """
    decorator = _CommandDecorator(
        name=name, path=path, method=method, timeout=timeout, memory=memory
    )
    return decorator if fn is None else decorator(fn)
