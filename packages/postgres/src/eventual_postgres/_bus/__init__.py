"""The PostgreSQL event bus: eventual-messaging's ``LocalBus`` over a PostgreSQL store."""

from ._bus import PostgresBus as PostgresBus
from ._schema import BUS_SCHEMA_VERSION as BUS_SCHEMA_VERSION
from ._schema import BusSchemaVersionError as BusSchemaVersionError
from ._store import PostgresBusStore as PostgresBusStore

__all__ = ["BUS_SCHEMA_VERSION", "BusSchemaVersionError", "PostgresBus", "PostgresBusStore"]
