"""Where eventual-postgres finds its settings: the DSN, the schema and the pool size.

Layers, later winning, as for every eventual setting:

1. ``[tool.eventual]`` in the project's pyproject: ``postgres-dsn``,
   ``postgres-schema``, ``postgres-pool-size``;
2. the environment: ``EVENTUAL_POSTGRES_DSN``, ``EVENTUAL_POSTGRES_SCHEMA``;
3. the caller: ``dsn`` (what ``eventual local --dsn`` passes), or
   ``LocalRuntime(..., settings={"dsn": ...})``.

The environment is read here rather than by ``eventual.plugins.load_config``,
whose environment variables are the core's own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

from eventual import EventualError
from eventual.plugins import EventualConfig

from ._backend import DEFAULT_SCHEMA
from ._database import check_schema_name

__all__ = ["DSN_ENV", "SCHEMA_ENV", "PostgresSettings", "postgres_settings"]

DSN_ENV = "EVENTUAL_POSTGRES_DSN"
SCHEMA_ENV = "EVENTUAL_POSTGRES_SCHEMA"


@attrs.frozen(kw_only=True)
class PostgresSettings:
    """What the ``postgres`` backend and bus connect to.

    Attributes:
        dsn: A libpq connection string or URL.
        schema: The schema holding the tables.
        pool_size: Most connections one backend (or bus) opens at once.
    """

    dsn: str
    schema: str = DEFAULT_SCHEMA
    pool_size: int = 10


def postgres_settings(
    config: EventualConfig, env: Mapping[str, str] | None = None
) -> PostgresSettings:
    """Return the settings of ``config`` and the environment.

    Raises:
        EventualError: No DSN is given anywhere, or a setting is malformed; the
            message says where to set it.
    """
    env = os.environ if env is None else env
    options = config.options
    dsn = options.get("dsn") or env.get(DSN_ENV) or options.get("postgres_dsn")
    if not dsn:
        raise EventualError(
            "the postgres backend needs a database: pass --dsn postgresql://user@host/db, set "
            f'{DSN_ENV}, or write postgres-dsn = "..." under [tool.eventual]'
        )
    if not isinstance(dsn, str):
        raise EventualError(f"postgres-dsn must be a string, got {type(dsn).__name__}: {dsn!r}")
    schema = env.get(SCHEMA_ENV) or options.get("postgres_schema") or DEFAULT_SCHEMA
    if not isinstance(schema, str):
        raise EventualError(f"postgres-schema must be a string, got {schema!r}")
    raw_size = options.get("postgres_pool_size", 10)
    try:
        pool_size = int(str(raw_size))
    except ValueError:
        pool_size = 0
    if not 1 <= pool_size <= 1000:
        raise EventualError(
            f"postgres-pool-size must be a whole number from 1 to 1000, got {raw_size!r}"
        )
    return PostgresSettings(dsn=dsn, schema=check_schema_name(schema), pool_size=pool_size)
