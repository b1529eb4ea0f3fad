"""The deterministic workflow executor (pure: history in, history and commands out)."""

from ._calls import describe as describe
from ._calls import seed_for as seed_for
from ._calls import task_token as task_token
from ._calls import timer_id as timer_id
from ._instance import WorkflowInstance as WorkflowInstance
from ._output import StepOutput as StepOutput

__all__ = ["StepOutput", "WorkflowInstance", "describe", "seed_for", "task_token", "timer_id"]
