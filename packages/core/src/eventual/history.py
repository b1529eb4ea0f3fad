"""History events and execution records: the data model of an execution.

Events here are values; an execution's history is the list of them, oldest first.
See :mod:`eventual._history` for the meaning of each.
"""

from ._history import HISTORY_EVENT_TYPES as HISTORY_EVENT_TYPES
from ._history import ChildWorkflowFailed as ChildWorkflowFailed
from ._history import ChildWorkflowScheduled as ChildWorkflowScheduled
from ._history import ChildWorkflowSucceeded as ChildWorkflowSucceeded
from ._history import EventsPublished as EventsPublished
from ._history import ExecutionRecord as ExecutionRecord
from ._history import HistoryEvent as HistoryEvent
from ._history import PublishedEvent as PublishedEvent
from ._history import SequencedEvent as SequencedEvent
from ._history import SignalReceived as SignalReceived
from ._history import SignalSent as SignalSent
from ._history import TaskFailed as TaskFailed
from ._history import TaskHeartbeatTimedOut as TaskHeartbeatTimedOut
from ._history import TaskRetryScheduled as TaskRetryScheduled
from ._history import TaskScheduled as TaskScheduled
from ._history import TaskStarted as TaskStarted
from ._history import TaskSucceeded as TaskSucceeded
from ._history import TaskTimedOut as TaskTimedOut
from ._history import TimerCancelled as TimerCancelled
from ._history import TimerFired as TimerFired
from ._history import TimerScheduled as TimerScheduled
from ._history import WorkflowCancelled as WorkflowCancelled
from ._history import WorkflowCancelRequested as WorkflowCancelRequested
from ._history import WorkflowContinuedAsNew as WorkflowContinuedAsNew
from ._history import WorkflowFailed as WorkflowFailed
from ._history import WorkflowPatched as WorkflowPatched
from ._history import WorkflowStarted as WorkflowStarted
from ._history import WorkflowSucceeded as WorkflowSucceeded
from ._history import WorkflowTimedOut as WorkflowTimedOut
from ._history import error_bases as error_bases
from ._history import history_event_from_json as history_event_from_json
from ._history import history_event_to_json as history_event_to_json
from ._history import input_digest as input_digest

__all__ = [
    "ChildWorkflowFailed",
    "ChildWorkflowScheduled",
    "ChildWorkflowSucceeded",
    "EventsPublished",
    "ExecutionRecord",
    "HISTORY_EVENT_TYPES",
    "HistoryEvent",
    "PublishedEvent",
    "SequencedEvent",
    "SignalReceived",
    "SignalSent",
    "TaskFailed",
    "TaskHeartbeatTimedOut",
    "TaskRetryScheduled",
    "TaskScheduled",
    "TaskStarted",
    "TaskSucceeded",
    "TaskTimedOut",
    "TimerCancelled",
    "TimerFired",
    "TimerScheduled",
    "WorkflowCancelRequested",
    "WorkflowCancelled",
    "WorkflowContinuedAsNew",
    "WorkflowFailed",
    "WorkflowPatched",
    "WorkflowStarted",
    "WorkflowSucceeded",
    "WorkflowTimedOut",
    "error_bases",
    "history_event_from_json",
    "history_event_to_json",
    "input_digest",
]
