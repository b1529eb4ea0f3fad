"""eventual-postgres: the ``postgres`` backend and event bus, for many processes on many machines.

Installing this distribution registers them through the ``eventual`` plugin
entry point; a service chooses them by configuration (``backend = "postgres"``)
and user code never imports this package.
"""

from ._backend import DEFAULT_SCHEMA as DEFAULT_SCHEMA
from ._backend import SCHEMA_VERSION as SCHEMA_VERSION
from ._backend import PostgresBackend as PostgresBackend
from ._backend import SchemaVersionError as SchemaVersionError
from ._bus import BUS_SCHEMA_VERSION as BUS_SCHEMA_VERSION
from ._bus import BusSchemaVersionError as BusSchemaVersionError
from ._bus import PostgresBus as PostgresBus
from ._bus import PostgresBusStore as PostgresBusStore
from ._config import DSN_ENV as DSN_ENV
from ._config import PostgresSettings as PostgresSettings
from ._config import postgres_settings as postgres_settings
from ._database import DatabaseClosed as DatabaseClosed
from ._server import TemporaryServer as TemporaryServer

__all__ = [
    "BUS_SCHEMA_VERSION",
    "BusSchemaVersionError",
    "DEFAULT_SCHEMA",
    "DSN_ENV",
    "DatabaseClosed",
    "PostgresBackend",
    "PostgresBus",
    "PostgresBusStore",
    "PostgresSettings",
    "SCHEMA_VERSION",
    "SchemaVersionError",
    "TemporaryServer",
    "postgres_settings",
]
