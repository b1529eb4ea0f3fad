"""Schedules on the engine: the built-in scheduler workflow and how runtimes drive it."""

from ._builtins import BUILTIN_TASKS as BUILTIN_TASKS
from ._builtins import BUILTIN_WORKFLOWS as BUILTIN_WORKFLOWS
from ._builtins import SCHEDULER_TASKS as SCHEDULER_TASKS
from ._builtins import task_of as task_of
from ._builtins import workflow_of as workflow_of
from ._control import ScheduleEnded as ScheduleEnded
from ._control import SchedulingClient as SchedulingClient
from ._control import pause_schedule as pause_schedule
from ._control import resume_schedule as resume_schedule
from ._control import schedule_execution_id as schedule_execution_id
from ._control import schedule_statuses as schedule_statuses
from ._control import schedule_tick as schedule_tick
from ._control import sync_schedules as sync_schedules
from ._scheduler import SCHEDULER as SCHEDULER
from ._scheduler import STEPS_PER_RUN as STEPS_PER_RUN
from ._scheduler import run_name as run_name

__all__ = [
    "BUILTIN_TASKS",
    "BUILTIN_WORKFLOWS",
    "SCHEDULER",
    "SCHEDULER_TASKS",
    "STEPS_PER_RUN",
    "ScheduleEnded",
    "SchedulingClient",
    "pause_schedule",
    "resume_schedule",
    "run_name",
    "schedule_execution_id",
    "schedule_statuses",
    "schedule_tick",
    "sync_schedules",
    "task_of",
    "workflow_of",
]
