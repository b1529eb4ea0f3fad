"""Definitions every engine knows besides the service's own: the scheduler's.

They are looked up by name wherever the engine resolves a workflow or a task,
so every runtime built on the engine (local, test, serverless, replay) runs
schedulers without registering anything, and a service's own definitions,
its manifest and its listings stay what the code declares.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from eventual import Service, Task, Workflow

from ._scheduler import run_status, scheduler, start_run

__all__ = ["BUILTIN_TASKS", "BUILTIN_WORKFLOWS", "SCHEDULER_TASKS", "task_of", "workflow_of"]

BUILTIN_WORKFLOWS: Final[Mapping[str, Workflow[Any, Any]]] = MappingProxyType(
    {scheduler.name: scheduler}
)
BUILTIN_TASKS: Final[Mapping[str, Task[Any, Any]]] = MappingProxyType(
    {start_run.name: start_run, run_status.name: run_status}
)

SCHEDULER_TASKS: Final[tuple[str, ...]] = tuple(sorted(BUILTIN_TASKS))
"""The names of the tasks a scheduler calls (start a run, read a run's status).

They run like any task, through ``TaskWorker.run``; a runtime that routes tasks
by name (a queue per task on AWS) routes these too when a workflow is scheduled.
"""


def workflow_of(service: Service, name: str) -> Workflow[Any, Any]:
    """Return the workflow of that name: a built-in one, else the service's.

    Raises:
        DefinitionNotFound: Neither defines it.
    """
    builtin = BUILTIN_WORKFLOWS.get(name)
    return builtin if builtin is not None else service.workflow(name)


def task_of(service: Service, name: str) -> Task[Any, Any]:
    """Return the task of that name: a built-in one, else the service's.

    Raises:
        DefinitionNotFound: Neither defines it.
    """
    builtin = BUILTIN_TASKS.get(name)
    return builtin if builtin is not None else service.task(name)
