"""eventual-messaging: the event bus of eventual (publish, routing, retries, dead letters).

Installing this distribution gives ``LocalRuntime`` and ``eventual local`` their
event bus through the ``eventual`` plugin entry point: ``"sqlite"`` (durable, the
default) and ``"memory"``. User code never imports it; engines and tests may.
"""

from ._bus import LocalBus as LocalBus
from ._delivery import BusOptions as BusOptions
from ._delivery import Delivery as Delivery
from ._memory import MemoryBus as MemoryBus
from ._patterns import matches as matches
from ._sqlite import BusSchemaVersionError as BusSchemaVersionError
from ._sqlite import SqliteBus as SqliteBus
from ._store import ServiceRoutes as ServiceRoutes

__all__ = [
    "BusOptions",
    "BusSchemaVersionError",
    "Delivery",
    "LocalBus",
    "MemoryBus",
    "ServiceRoutes",
    "SqliteBus",
    "matches",
]
