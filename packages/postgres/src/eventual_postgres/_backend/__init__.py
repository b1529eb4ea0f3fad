"""The PostgreSQL backend: every ``eventual.spi`` protocol on one schema."""

from ._backend import DEFAULT_AFFINITY as DEFAULT_AFFINITY
from ._backend import DEFAULT_SCHEMA as DEFAULT_SCHEMA
from ._backend import PostgresBackend as PostgresBackend
from ._schema import SCHEMA_VERSION as SCHEMA_VERSION
from ._schema import SchemaVersionError as SchemaVersionError

__all__ = [
    "DEFAULT_AFFINITY",
    "DEFAULT_SCHEMA",
    "SCHEMA_VERSION",
    "PostgresBackend",
    "SchemaVersionError",
]
