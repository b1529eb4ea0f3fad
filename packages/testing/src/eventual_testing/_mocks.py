"""Mocks of tasks and workflows: canned answers, one-shot answers and a record of calls.

A mock decides what one call of its definition does. Answers are looked up in
this order: the oldest queued one-shot answer (``returns_once``/``raises_once``),
then the standing answer (``returns``, ``raises``, ``calls(fn)``,
``completes_async``), and, when neither is set, the definition's real code, so
a mock with no answer is a spy that only records calls.

Values a mock returns are checked against the definition's declared result type
when the answer is set, so a mock of the wrong type fails in the line that set
it rather than deep inside a workflow.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Self, TypeAlias, TypeVar
from unittest.mock import call

from eventual import Task, ValidationError, Workflow, complete_async, task_info
from eventual.codec import decode, encode

if TYPE_CHECKING:
    from unittest.mock import _Call

__all__ = ["Answer", "CallLog", "RealCode", "TaskMock", "WorkflowMock", "run_answer"]

P = ParamSpec("P")
R = TypeVar("R")
InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")
FnT = TypeVar("FnT")
MockT = TypeVar("MockT")

# One answer to one call: given the call's arguments, what the call returns or raises.
Answer: TypeAlias = Callable[[tuple[Any, ...], dict[str, Any]], Awaitable[Any]]
RealCode: TypeAlias = Callable[[], Awaitable[Any]]


class CallLog(list["_Call"], Generic[FnT, MockT]):
    """The calls a mock received, oldest first, as ``unittest.mock.call`` objects.

    It is a list (``mock.calls == [call("book", 1)]``, ``mock.calls[0].args``),
    and calling it sets the mock's standing answer to a function:
    ``mock.calls(fn)`` makes every call run ``fn`` with the call's arguments.
    """

    def __init__(self, use: Callable[[FnT], MockT]) -> None:
        super().__init__()
        self._use = use

    def __call__(self, fn: FnT) -> MockT:
        """Answer every call with ``fn(*args, **kwargs)`` (awaited when it returns an awaitable).

        Returns:
            The mock, to chain further settings.
        """
        return self._use(fn)


class _Mock:
    """What task and workflow mocks share: answers, their order and the call record."""

    def __init__(self, what: str, result_type: Any) -> None:
        self._what = what
        self._result_type = result_type
        self._standing: Answer | None = None
        self._once: deque[Answer] = deque()
        self._log: CallLog[Any, Any] = CallLog(self._use_fn)

    def __repr__(self) -> str:
        return f"<mock of {self._what}>"

    def _checked(self, value: object) -> object:
        """Return ``value`` as the definition's result type would carry it, or fail clearly."""
        try:
            data = encode(value, self._result_type, path="result")
            return decode(data, self._result_type, path="result")
        except ValidationError as error:
            raise TypeError(
                f"the mock of {self._what} cannot return {value!r}: it does not fit the "
                f"declared result type ({error}); return a value of that type"
            ) from error

    def _use_fn(self, fn: Callable[..., Any]) -> Any:
        if not callable(fn):
            raise TypeError(f"the mock of {self._what} calls a function, got {fn!r}")

        async def answer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            result = fn(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        self._standing = answer
        return self

    def _set(self, answer: Answer, once: bool) -> None:
        if once:
            self._once.append(answer)
        else:
            self._standing = answer

    def _returning(self, value: object, once: bool) -> None:
        checked = self._checked(value)

        async def answer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return checked

        self._set(answer, once)

    def _raising(self, error: BaseException | type[BaseException], once: bool) -> None:
        if not (
            isinstance(error, BaseException)
            or (isinstance(error, type) and issubclass(error, BaseException))
        ):
            raise TypeError(
                f"the mock of {self._what} raises an exception or exception class, got {error!r}"
            )

        async def answer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            raise error

        self._set(answer, once)

    def choose(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Answer | None:
        """Record one call and take its answer; ``None`` means the real code."""
        self._log.append(call(*args, **kwargs))
        return self._once.popleft() if self._once else self._standing

    async def answer(self, args: tuple[Any, ...], kwargs: dict[str, Any], real: RealCode) -> Any:
        """Record one call and answer it (the real code when no answer is set)."""
        return await run_answer(self.choose(args, kwargs), args, kwargs, real)


async def run_answer(
    answer: Answer | None, args: tuple[Any, ...], kwargs: dict[str, Any], real: RealCode
) -> Any:
    """Run a chosen answer, or the real code when there is none."""
    if answer is None:
        return await real()
    return await answer(args, kwargs)


class TaskMock(_Mock, Generic[P, R]):
    """Decides what the task worker runs for one task in a test environment.

    Get one with ``env.mock(task)``; every setter returns the mock, so settings
    chain: ``env.mock(charge).raises_once(ConnectionError("down")).returns("ok")``.
    Retries are calls too: each attempt takes the next answer.

    Attributes:
        task: The mocked task.
    """

    def __init__(self, task: Task[P, R]) -> None:
        super().__init__(f"task {task.name!r}", task.return_type)
        self.task = task
        self._tokens: list[str] = []

    @property
    def calls(self) -> CallLog[Callable[P, Awaitable[R]] | Callable[P, R], TaskMock[P, R]]:
        """Every call so far (one per attempt), as ``unittest.mock.call`` objects.

        Calling it, ``mock.calls(fn)``, makes each attempt run ``fn`` instead of the
        task (awaited when it returns an awaitable); what ``fn`` returns or raises
        is the attempt's outcome.
        """
        return self._log

    @property
    def tokens(self) -> list[str]:
        """Tokens of the attempts answered by :meth:`completes_async`, oldest first.

        Pass one to ``env.complete_task`` or ``env.fail_task``.
        """
        return list(self._tokens)

    def returns(self, value: R) -> Self:
        """Make every call return ``value`` (replaces the standing answer)."""
        self._returning(value, once=False)
        return self

    def raises(self, error: BaseException | type[BaseException]) -> Self:
        """Make every call raise ``error`` (replaces the standing answer)."""
        self._raising(error, once=False)
        return self

    def returns_once(self, value: R) -> Self:
        """Make the next unanswered call return ``value``, before the standing answer."""
        self._returning(value, once=True)
        return self

    def raises_once(self, error: BaseException | type[BaseException]) -> Self:
        """Make the next unanswered call raise ``error``, before the standing answer."""
        self._raising(error, once=True)
        return self

    def completes_async(self) -> Self:
        """Leave every call open, as a task calling ``complete_async()`` does.

        The attempt waits (its timeout and heartbeat deadlines still apply) until
        the test finishes it with ``env.complete_task(token, result)`` or
        ``env.fail_task(token, error)``; its token is in :attr:`tokens`.
        """

        async def answer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            self._tokens.append(task_info().token)
            complete_async()

        self._set(answer, once=False)
        return self

    def check_result(self, value: object) -> object:
        """Return ``value`` checked against the task's result type (raises ``TypeError``)."""
        return self._checked(value)


class WorkflowMock(_Mock, Generic[InputT, OutputT]):
    """Decides what an execution of one workflow runs in a test environment.

    Typically a child workflow: ``env.mock(charge_card).returns(Receipt(...))`` makes
    every execution of ``charge_card`` succeed at once with that result (it is
    still a real execution, with a history). ``raises`` makes it fail, which the
    parent sees as ``WorkflowFailed``. An execution takes its answer when its code
    first runs; replaying its history reuses it, so a replay records no call.

    Attributes:
        workflow: The mocked workflow.
    """

    def __init__(self, workflow: Workflow[InputT, OutputT]) -> None:
        super().__init__(f"workflow {workflow.name!r}", workflow.output_type)
        self.workflow = workflow

    @property
    def calls(
        self,
    ) -> CallLog[
        Callable[[InputT], Awaitable[OutputT]] | Callable[[InputT], OutputT],
        WorkflowMock[InputT, OutputT],
    ]:
        """Every execution so far, as ``call(input)`` objects.

        Calling it, ``mock.calls(fn)``, makes each execution run ``fn(input)`` as
        its workflow code instead (inside the workflow, so it may ``sleep`` or call
        tasks).
        """
        return self._log

    def returns(self, value: OutputT) -> Self:
        """Make every execution return ``value`` (replaces the standing answer)."""
        self._returning(value, once=False)
        return self

    def raises(self, error: BaseException | type[BaseException]) -> Self:
        """Make every execution fail with ``error`` (replaces the standing answer)."""
        self._raising(error, once=False)
        return self

    def returns_once(self, value: OutputT) -> Self:
        """Make the next unanswered execution return ``value``, before the standing answer."""
        self._returning(value, once=True)
        return self

    def raises_once(self, error: BaseException | type[BaseException]) -> Self:
        """Make the next unanswered execution fail with ``error``, before the standing answer."""
        self._raising(error, once=True)
        return self
