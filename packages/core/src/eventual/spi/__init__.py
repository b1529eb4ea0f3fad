"""The service-provider interface: what engines, backends and clients implement.

User code never needs this module. Engines set the ambient contexts
(:func:`use_workflow_runtime`, :func:`use_task_context`, :func:`use_client`) and
implement the protocols; backends implement :class:`Backend` and its parts.
"""

from .._bus import DeadLetter as DeadLetter
from .._bus import EventBus as EventBus
from .._bus import EventEnvelope as EventEnvelope
from .._bus import SubscriptionDelivery as SubscriptionDelivery
from .._defaults import DefaultClient as DefaultClient
from .._defaults import add_default_client as add_default_client
from .._idempotency import IdempotencyStore as IdempotencyStore
from .._idempotency import KeptAnswer as KeptAnswer
from .._logs import KEPT_LEVEL as KEPT_LEVEL
from .._logs import LogEntry as LogEntry
from .._logs import LogStore as LogStore
from .._owners import holder_gone as holder_gone
from .._owners import process_owner as process_owner
from .._runtime import Client as Client
from .._runtime import Disposable as Disposable
from .._runtime import ExecutionControl as ExecutionControl
from .._runtime import TaskCallOptions as TaskCallOptions
from .._runtime import TaskContext as TaskContext
from .._runtime import TaskRunner as TaskRunner
from .._runtime import WorkflowRuntime as WorkflowRuntime
from .._runtime import current_client as current_client
from .._runtime import current_task_context as current_task_context
from .._runtime import current_workflow_runtime as current_workflow_runtime
from .._runtime import require_client as require_client
from .._runtime import reset_client as reset_client
from .._runtime import set_client as set_client
from .._runtime import set_workflow_runtime as set_workflow_runtime
from .._runtime import use_client as use_client
from .._runtime import use_task_context as use_task_context
from .._runtime import use_workflow_runtime as use_workflow_runtime
from .._spi import Backend as Backend
from .._spi import Conflict as Conflict
from .._spi import ExecutionFilter as ExecutionFilter
from .._spi import ExecutionPage as ExecutionPage
from .._spi import ExecutionStore as ExecutionStore
from .._spi import InboundBatch as InboundBatch
from .._spi import InboundMessage as InboundMessage
from .._spi import Lease as Lease
from .._spi import StepCommit as StepCommit
from .._spi import TaskDispatch as TaskDispatch
from .._spi import TaskRequest as TaskRequest
from .._spi import TimerKind as TimerKind
from .._spi import TimerRequest as TimerRequest
from .._spi import TimerService as TimerService
from .._spi import WorkflowQueue as WorkflowQueue
from .._spi import WorkWatcher as WorkWatcher
from .._spi import start_message_id as start_message_id
from .._stored import dump_event as dump_event
from .._stored import dump_json as dump_json
from .._stored import dump_published as dump_published
from .._stored import dump_record as dump_record
from .._stored import dump_task as dump_task
from .._stored import dump_timer as dump_timer
from .._stored import from_micros as from_micros
from .._stored import load_event as load_event
from .._stored import load_published as load_published
from .._stored import load_record as load_record
from .._stored import load_task as load_task
from .._stored import load_timer as load_timer
from .._stored import micros as micros
from .._task import CompleteAsync as CompleteAsync
from .._workflow import execution_id as execution_id
from .._workflow import new_execution_name as new_execution_name

__all__ = [
    "Backend",
    "Client",
    "CompleteAsync",
    "Conflict",
    "DeadLetter",
    "DefaultClient",
    "Disposable",
    "EventBus",
    "EventEnvelope",
    "ExecutionControl",
    "ExecutionFilter",
    "ExecutionPage",
    "ExecutionStore",
    "IdempotencyStore",
    "InboundBatch",
    "InboundMessage",
    "KEPT_LEVEL",
    "KeptAnswer",
    "Lease",
    "LogEntry",
    "LogStore",
    "StepCommit",
    "SubscriptionDelivery",
    "TaskCallOptions",
    "TaskContext",
    "TaskDispatch",
    "TaskRequest",
    "TaskRunner",
    "TimerKind",
    "TimerRequest",
    "TimerService",
    "WorkWatcher",
    "WorkflowQueue",
    "WorkflowRuntime",
    "add_default_client",
    "current_client",
    "current_task_context",
    "current_workflow_runtime",
    "dump_event",
    "dump_json",
    "dump_published",
    "dump_record",
    "dump_task",
    "dump_timer",
    "execution_id",
    "from_micros",
    "holder_gone",
    "load_event",
    "load_published",
    "load_record",
    "load_task",
    "load_timer",
    "micros",
    "new_execution_name",
    "process_owner",
    "require_client",
    "reset_client",
    "set_client",
    "set_workflow_runtime",
    "start_message_id",
    "use_client",
    "use_task_context",
    "use_workflow_runtime",
]
