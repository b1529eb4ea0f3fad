"""Stand-in definitions: what the engine of a test environment looks tasks and workflows up as.

The environment gives its engine a copy of the service (``Service.replace``) in
which every task and workflow is a stand-in of the same name and options. A
stand-in runs its original's code until a mock is attached, and then asks the
mock. The engine, its orchestrator and its task worker are the production ones;
only the definitions they look up by name differ.
"""

from __future__ import annotations

import functools
from typing import Any

from eventual import Task, Workflow, execution_info

from ._mocks import Answer, TaskMock, WorkflowMock, run_answer

__all__ = ["StandInTask", "StandInWorkflow"]


class StandInTask(Task[..., Any]):
    """A task with its original's name, options and code, answered by a mock once set."""

    def __init__(self, original: Task[..., Any]) -> None:
        super().__init__(
            original.fn,
            name=original.name,
            timeout=original.timeout,
            heartbeat_timeout=original.heartbeat_timeout,
            retry=original.retry,
        )
        self.source = original.source
        self.original = original
        self.mock: TaskMock[..., Any] | None = None

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        """Run one attempt: the mock's answer, or the original code without a mock."""
        real = functools.partial(Task.run, self, *args, **kwargs)
        if self.mock is None:
            return await real()
        return await self.mock.answer(args, kwargs, real)


class StandInWorkflow(Workflow[Any, Any]):
    """A workflow with its original's name, options and types, answered by a mock once set."""

    def __init__(self, original: Workflow[Any, Any]) -> None:
        async def body(input: Any) -> Any:
            return await self._body(input)

        super().__init__(body, name=original.name, timeout=original.timeout)
        self.source = original.source
        self.schedule = original.schedule
        self.original = original
        self.mock: WorkflowMock[Any, Any] | None = None
        # The answer each execution took on its first run. A workflow body runs
        # again whenever its history is replayed (replay mode, a cache miss); a
        # replay must make the same calls, so it reuses that answer instead of
        # recording another call or taking the next one-shot answer.
        self._answers: dict[str, Answer | None] = {}

    @property
    def input_type(self) -> Any:
        """The original's declared input type."""
        return self.original.input_type

    @property
    def output_type(self) -> Any:
        """The original's declared result type."""
        return self.original.output_type

    async def _body(self, input: Any) -> Any:
        execution_id = execution_info().execution_id
        if execution_id in self._answers:
            answer = self._answers[execution_id]
        else:
            answer = None if self.mock is None else self.mock.choose((input,), {})
            self._answers[execution_id] = answer
        return await run_answer(answer, (input,), {}, functools.partial(self.original.run, input))
