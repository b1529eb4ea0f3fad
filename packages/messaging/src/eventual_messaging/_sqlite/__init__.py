"""The durable local event bus in a SQLite file (see :class:`SqliteBus`)."""

from ._bus import SqliteBus as SqliteBus
from ._schema import BusSchemaVersionError as BusSchemaVersionError

__all__ = ["BusSchemaVersionError", "SqliteBus"]
