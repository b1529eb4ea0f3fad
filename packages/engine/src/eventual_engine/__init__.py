"""eventual's durable workflow engine, its embedded backends and the local runtime."""

from ._client import BackendClient as BackendClient
from ._client import ClientHooks as ClientHooks
from ._clock import Clock as Clock
from ._clock import ManualClock as ManualClock
from ._clock import SystemClock as SystemClock
from ._engine import Engine as Engine
from ._engine import EngineOptions as EngineOptions
from ._executor import StepOutput as StepOutput
from ._executor import WorkflowInstance as WorkflowInstance
from ._http import HttpApp as HttpApp
from ._http import HttpOptions as HttpOptions
from ._local import LocalRuntime as LocalRuntime
from ._local import load_service as load_service
from ._memory import MemoryBackend as MemoryBackend
from ._orchestrator import Orchestrator as Orchestrator
from ._replay import ReplayResult as ReplayResult
from ._replay import history_from_json as history_from_json
from ._replay import history_to_json as history_to_json
from ._replay import replay as replay
from ._schedules import SCHEDULER_TASKS as SCHEDULER_TASKS
from ._schedules import schedule_execution_id as schedule_execution_id
from ._schedules import schedule_tick as schedule_tick
from ._schedules import sync_schedules as sync_schedules
from ._start import clash_message as clash_message
from ._workers import TaskWorker as TaskWorker
from ._workers import TimerWorker as TimerWorker

__all__ = [
    "BackendClient",
    "ClientHooks",
    "Clock",
    "Engine",
    "EngineOptions",
    "HttpApp",
    "HttpOptions",
    "LocalRuntime",
    "ManualClock",
    "MemoryBackend",
    "Orchestrator",
    "ReplayResult",
    "SCHEDULER_TASKS",
    "StepOutput",
    "SystemClock",
    "TaskWorker",
    "TimerWorker",
    "WorkflowInstance",
    "clash_message",
    "history_from_json",
    "history_to_json",
    "load_service",
    "replay",
    "schedule_execution_id",
    "schedule_tick",
    "sync_schedules",
]
