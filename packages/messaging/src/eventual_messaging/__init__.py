"""eventual-messaging: the event bus of eventual (publish, routing, retries, dead letters).

Installing this distribution gives ``LocalRuntime`` and ``eventual local`` their
event bus through the ``eventual`` plugin entry point: ``"sqlite"`` (durable, the
default) and ``"memory"``. User code never imports it; engines and tests may.
A third-party bus stores its events in a ``BusStore`` of its own (with the
``Route``, ``Claim`` and ``Outcome`` values) and reuses ``LocalBus`` and its
``Delivery`` for routing, retries and dead letters, as eventual-postgres does.
"""

from ._bus import LocalBus as LocalBus
from ._delivery import BusOptions as BusOptions
from ._delivery import Delivery as Delivery
from ._memory import MemoryBus as MemoryBus
from ._patterns import matches as matches
from ._plugin import bus_options as bus_options
from ._sqlite import BusSchemaVersionError as BusSchemaVersionError
from ._sqlite import SqliteBus as SqliteBus
from ._store import BusStore as BusStore
from ._store import Claim as Claim
from ._store import Outcome as Outcome
from ._store import Route as Route
from ._store import ServiceRoutes as ServiceRoutes
from ._store import split_dead_letter_id as split_dead_letter_id

__all__ = [
    "BusOptions",
    "BusSchemaVersionError",
    "BusStore",
    "Claim",
    "Delivery",
    "LocalBus",
    "MemoryBus",
    "Outcome",
    "Route",
    "ServiceRoutes",
    "SqliteBus",
    "bus_options",
    "matches",
    "split_dead_letter_id",
]
