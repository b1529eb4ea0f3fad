"""The embedded SQLite backend (the default): the whole SPI in one database file.

Modules: ``_backend`` (the public class, on ``eventual.sqlite.Database``: the
connection's thread and group commit), ``_schema`` (tables and migrations), ``_executions``,
``_queue``, ``_timers`` and ``_tasks`` (one SPI part each), ``_writes`` (writes a
commit shares with the parts) and ``_convert`` (JSON and time columns).
"""

from eventual.sqlite import DatabaseClosed as DatabaseClosed

from ._backend import SqliteBackend as SqliteBackend
from ._schema import SCHEMA_VERSION as SCHEMA_VERSION
from ._schema import SchemaVersionError as SchemaVersionError

__all__ = ["SCHEMA_VERSION", "DatabaseClosed", "SchemaVersionError", "SqliteBackend"]
