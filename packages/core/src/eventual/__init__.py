"""eventual: durable workflows, APIs and messaging for Python services.

Everything a service author needs is importable from here; see the README and
``docs/`` for a guide. Engines and backends use :mod:`eventual.spi`; history
events live in :mod:`eventual.history`; the JSON codec in :mod:`eventual.codec`.
"""

from ._client import ServiceClient as ServiceClient
from ._command import Command as Command
from ._command import command as command
from ._errors import DeterminismError as DeterminismError
from ._errors import EventualError as EventualError
from ._errors import ExecutionAlreadyExists as ExecutionAlreadyExists
from ._errors import ExecutionNotFound as ExecutionNotFound
from ._errors import HeartbeatTimeout as HeartbeatTimeout
from ._errors import HttpError as HttpError
from ._errors import RuntimeNotAvailable as RuntimeNotAvailable
from ._errors import TaskError as TaskError
from ._errors import Timeout as Timeout
from ._errors import ValidationError as ValidationError
from ._errors import WorkflowFailed as WorkflowFailed
from ._event import Event as Event
from ._event import Subscription as Subscription
from ._event import event as event
from ._event import subscription as subscription
from ._filter import EventFilter as EventFilter
from ._filter import FilterError as FilterError
from ._filter import between as between
from ._filter import exists as exists
from ._filter import numeric as numeric
from ._filter import prefix as prefix
from ._handle import ExecutionHandle as ExecutionHandle
from ._http import HttpRequest as HttpRequest
from ._http import HttpResponse as HttpResponse
from ._http import Middleware as Middleware
from ._http import Route as Route
from ._http import api as api
from ._info import ExecutionInfo as ExecutionInfo
from ._info import ExecutionStatus as ExecutionStatus
from ._info import TaskInfo as TaskInfo
from ._logs import logger as logger
from ._plugins import get_plugin_manager as get_plugin_manager
from ._plugins import hookimpl as hookimpl
from ._plugins import hookspec as hookspec
from ._retry import RetryPolicy as RetryPolicy
from ._schedule import Schedule as Schedule
from ._schedule import ScheduleInfo as ScheduleInfo
from ._service import DefinitionNotFound as DefinitionNotFound
from ._service import DuplicateDefinition as DuplicateDefinition
from ._service import Service as Service
from ._service import ServiceLoadError as ServiceLoadError
from ._signal import Signal as Signal
from ._signal import signal as signal
from ._sync_client import SyncExecutionHandle as SyncExecutionHandle
from ._sync_client import SyncServiceClient as SyncServiceClient
from ._task import Task as Task
from ._task import complete_async as complete_async
from ._task import complete_task as complete_task
from ._task import fail_task as fail_task
from ._task import heartbeat as heartbeat
from ._task import task as task
from ._task import task_info as task_info
from ._time import condition as condition
from ._time import execution_info as execution_info
from ._time import now as now
from ._time import random as random
from ._time import sleep as sleep
from ._time import sleep_until as sleep_until
from ._time import uuid4 as uuid4
from ._versioning import continue_as_new as continue_as_new
from ._versioning import deprecate_patch as deprecate_patch
from ._versioning import patched as patched
from ._workflow import Workflow as Workflow
from ._workflow import workflow as workflow

__all__ = [
    "Command",
    "DefinitionNotFound",
    "DeterminismError",
    "DuplicateDefinition",
    "Event",
    "EventFilter",
    "EventualError",
    "ExecutionAlreadyExists",
    "ExecutionHandle",
    "ExecutionInfo",
    "ExecutionNotFound",
    "ExecutionStatus",
    "FilterError",
    "HeartbeatTimeout",
    "HttpError",
    "HttpRequest",
    "HttpResponse",
    "Middleware",
    "RetryPolicy",
    "Route",
    "RuntimeNotAvailable",
    "Schedule",
    "ScheduleInfo",
    "Service",
    "ServiceClient",
    "ServiceLoadError",
    "Signal",
    "Subscription",
    "SyncExecutionHandle",
    "SyncServiceClient",
    "Task",
    "TaskError",
    "TaskInfo",
    "Timeout",
    "ValidationError",
    "Workflow",
    "WorkflowFailed",
    "api",
    "between",
    "command",
    "complete_async",
    "complete_task",
    "condition",
    "continue_as_new",
    "deprecate_patch",
    "event",
    "execution_info",
    "exists",
    "fail_task",
    "get_plugin_manager",
    "heartbeat",
    "hookimpl",
    "hookspec",
    "logger",
    "now",
    "numeric",
    "patched",
    "prefix",
    "random",
    "signal",
    "sleep",
    "sleep_until",
    "subscription",
    "task",
    "task_info",
    "uuid4",
    "workflow",
]
