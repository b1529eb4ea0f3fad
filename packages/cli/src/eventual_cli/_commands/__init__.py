"""The commands that operate a running service, and ``eventual replay``.

Modules: ``_api`` (the system API client), ``_output`` (shared options, tables
or JSON, progress), ``_render`` (how things look), ``_inputs`` (JSON
arguments), and one module per group of commands.
"""

from ._bus import bus
from ._dead_letters import dead_letters
from ._executions import execution, executions, export, history
from ._logs import logs
from ._replay import replay_command
from ._schedules import schedules
from ._send import call, cancel, complete_task, fail_task, publish, signal
from ._start import start

__all__ = ["COMMANDS"]

COMMANDS = (
    start,
    executions,
    execution,
    history,
    logs,
    export,
    signal,
    cancel,
    publish,
    call,
    complete_task,
    fail_task,
    dead_letters,
    schedules,
    replay_command,
    bus,
)
"""Every command of this package but ``local``, in the order the docs show them."""
