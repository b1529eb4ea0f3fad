"""The public surface of eventual-postgres is pinned."""

from __future__ import annotations

import eventual_postgres


def test_all_is_pinned_and_sorted() -> None:
    """__all__ is exactly the expected, sorted list, and every name exists."""
    assert eventual_postgres.__all__ == [
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
    assert eventual_postgres.__all__ == sorted(eventual_postgres.__all__)
    for name in eventual_postgres.__all__:
        assert hasattr(eventual_postgres, name)
