"""Where eventual-postgres finds its settings: the DSN, the schema, the pool size, the affinity.

Layers, later winning, as for every eventual setting:

1. ``[tool.eventual]`` in the project's pyproject: ``postgres-dsn``,
   ``postgres-schema``, ``postgres-pool-size``, ``postgres-affinity-seconds``;
2. the environment: ``EVENTUAL_POSTGRES_DSN``, ``EVENTUAL_POSTGRES_SCHEMA``,
   ``EVENTUAL_POSTGRES_AFFINITY_SECONDS``;
3. the caller: ``dsn`` (what ``eventual local --dsn`` passes), or
   ``LocalRuntime(..., settings={"dsn": ...})``.

The schema and the affinity of the environment win over the same keys given
by the caller (``settings={"postgres_schema": ...}``), which are merged with
the pyproject's before they reach the plugin.

The environment is read here rather than by ``eventual.plugins.load_config``,
whose environment variables are the core's own.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import timedelta

import attrs

from eventual import EventualError
from eventual.plugins import EventualConfig

from ._backend import DEFAULT_AFFINITY, DEFAULT_SCHEMA
from ._database import check_schema_name

__all__ = ["AFFINITY_ENV", "DSN_ENV", "SCHEMA_ENV", "PostgresSettings", "postgres_settings"]

DSN_ENV = "EVENTUAL_POSTGRES_DSN"
SCHEMA_ENV = "EVENTUAL_POSTGRES_SCHEMA"
AFFINITY_ENV = "EVENTUAL_POSTGRES_AFFINITY_SECONDS"
_AFFINITY_LIMIT = 86_400.0  # a day: past that, a stopped holder's messages would look lost


@attrs.frozen(kw_only=True)
class PostgresSettings:
    """What the ``postgres`` backend and bus connect to.

    Attributes:
        dsn: A libpq connection string or URL.
        schema: The schema holding the tables.
        pool_size: Most connections one backend (or bus) opens at once.
        affinity: How long a claim leaves an execution to the process holding
            its live instance (``PostgresBackend(affinity=...)``).
    """

    dsn: str
    schema: str = DEFAULT_SCHEMA
    pool_size: int = 10
    affinity: timedelta = DEFAULT_AFFINITY


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
    return PostgresSettings(
        dsn=dsn,
        schema=check_schema_name(schema),
        pool_size=pool_size,
        affinity=_affinity(options, env),
    )


def _affinity(options: Mapping[str, object], env: Mapping[str, str]) -> timedelta:
    """Return the affinity the environment or the options give (seconds), else the default.

    Raises:
        EventualError: The value is not a number of seconds from 0 to a day.
    """
    raw: object = env.get(AFFINITY_ENV) or options.get("postgres_affinity_seconds")
    if raw is None:
        return DEFAULT_AFFINITY
    try:
        seconds = float(str(raw)) if not isinstance(raw, bool) else math.nan
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= _AFFINITY_LIMIT:  # also refuses NaN and infinity
        raise EventualError(
            f"postgres-affinity-seconds (or {AFFINITY_ENV}) must be a number of seconds from 0 "
            f"to {_AFFINITY_LIMIT:.0f}, got {raw!r}: it is how long a process leaves an "
            "execution's messages to the process holding its live instance (0: to none)"
        )
    return timedelta(seconds=seconds)
