"""Test eventual services on a virtual clock: ``TestEnvironment``, mocks and the pytest plugin."""

from ._environment import TestEnvironment as TestEnvironment
from ._errors import ExecutionStillRunning as ExecutionStillRunning
from ._mocks import CallLog as CallLog
from ._mocks import TaskMock as TaskMock
from ._mocks import WorkflowMock as WorkflowMock

__all__ = [
    "CallLog",
    "ExecutionStillRunning",
    "TaskMock",
    "TestEnvironment",
    "WorkflowMock",
]
