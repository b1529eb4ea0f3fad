"""The deterministic workflow executor (pure: history in, history and commands out)."""

from ._calls import describe as describe
from ._ending import ended_record as ended_record
from ._instance import WorkflowInstance as WorkflowInstance
from ._output import StepOutput as StepOutput

__all__ = ["StepOutput", "WorkflowInstance", "describe", "ended_record"]
