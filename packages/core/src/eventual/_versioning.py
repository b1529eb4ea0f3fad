"""Versioning workflow code: ``patched`` and ``deprecate_patch``.

An execution can outlive the code that started it. Changing what a workflow
calls would make the histories recorded by the old code fail to replay, so a
change is guarded by a patch check: executions that reach the check on new
code take the new branch, and executions whose history shows the old code
already passed that point replay the old one.

The check writes a ``WorkflowPatched`` marker into history the first time an
execution takes the patch. Unlike Temporal's marker, it takes no sequence
number (calls are matched by sequence number here, and a marker that took one
would shift every later call of an old history). It records instead after
which call the patch was taken, so a check made in a loop replays as it ran:
``False`` in the iterations the old code made, ``True`` from the one where the
new code took it.
"""

from __future__ import annotations

from typing import NoReturn

from ._errors import RuntimeNotAvailable
from ._runtime import WorkflowRuntime, current_workflow_runtime

__all__ = ["continue_as_new", "deprecate_patch", "patched"]


def _runtime(what: str, patch: str) -> WorkflowRuntime:
    if not isinstance(patch, str) or not patch:
        raise ValueError(f"{what} needs a non-empty patch id, got {patch!r}")
    runtime = current_workflow_runtime()
    if runtime is None:
        raise RuntimeNotAvailable(f"{what}({patch!r}) can only be called inside a workflow")
    return runtime


def patched(patch: str) -> bool:
    """Tell whether this execution takes the new branch of patch ``patch``.

    True for executions that reach the check on code that has it (the choice is
    then recorded in history), False for executions whose history was recorded
    by older code that went past this point. Once True for an execution, it
    stays True for that patch.

    Args:
        patch: The patch's id, unique within the workflow.

    Raises:
        RuntimeNotAvailable: Called outside a workflow.
    """
    return _runtime("patched", patch).patched(patch, deprecated=False)


def deprecate_patch(patch: str) -> None:
    """Mark patch ``patch`` as one whose old branch is gone.

    Replace ``if patched(id): new() else: old()`` by ``deprecate_patch(id); new()``
    once no execution that took the old branch runs any more: histories that
    record the patch replay, and no check of it is made on replay.

    Args:
        patch: The patch's id, as given to :func:`patched`.

    Raises:
        RuntimeNotAvailable: Called outside a workflow.
    """
    _runtime("deprecate_patch", patch).patched(patch, deprecated=True)


def continue_as_new(input: object) -> NoReturn:
    """End this run of the workflow; the same execution continues with ``input``.

    The execution keeps its id and a fresh history: the next run starts the
    workflow function again with ``input``, and only that run is replayed from
    then on, so a workflow that loops forever keeps its replay cost and memory
    bounded. Signals that arrived and were not consumed are handed to the next
    run, in order; timers and task attempts still waiting are cancelled.

    Args:
        input: The next run's input, of the workflow's input type.

    Raises:
        RuntimeNotAvailable: Called outside a workflow.
    """
    runtime = current_workflow_runtime()
    if runtime is None:
        raise RuntimeNotAvailable("continue_as_new() can only be called inside a workflow")
    runtime.continue_as_new(input)
