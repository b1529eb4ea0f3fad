"""Where the postgres backend finds its DSN, schema, pool size and affinity, and its plugin."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventual import EventualError
from eventual.plugins import EventualConfig, Plugins, get_plugin_manager
from eventual_postgres import (
    DSN_ENV,
    PostgresBackend,
    PostgresBus,
    PostgresBusStore,
    PostgresSettings,
    postgres_settings,
)


def config(**options: object) -> EventualConfig:
    return EventualConfig(backend="postgres", options=options)


def test_the_dsn_of_the_caller_wins_over_the_environment_and_the_pyproject() -> None:
    """A DSN passed by the caller (--dsn) beats EVENTUAL_POSTGRES_DSN, which beats the pyproject."""
    both = config(dsn="postgresql://flag/db", postgres_dsn="postgresql://pyproject/db")
    env = {DSN_ENV: "postgresql://env/db"}
    assert postgres_settings(both, env).dsn == "postgresql://flag/db"
    assert postgres_settings(config(postgres_dsn="postgresql://p/db"), env).dsn == (
        "postgresql://env/db"
    )
    assert postgres_settings(config(postgres_dsn="postgresql://p/db"), {}) == PostgresSettings(
        dsn="postgresql://p/db"
    )


def test_schema_and_pool_size_come_from_settings() -> None:
    """postgres-schema and postgres-pool-size are read and checked."""
    settings = postgres_settings(
        config(dsn="postgresql://h/db", postgres_schema="orders", postgres_pool_size="3"), {}
    )
    assert (settings.schema, settings.pool_size) == ("orders", 3)


def test_the_schema_of_the_environment_wins_over_the_pyproject() -> None:
    """EVENTUAL_POSTGRES_SCHEMA beats postgres-schema of the pyproject."""
    settings = postgres_settings(
        config(dsn="postgresql://h/db", postgres_schema="pyproject"),
        {"EVENTUAL_POSTGRES_SCHEMA": "from_env"},
    )
    assert settings.schema == "from_env"


def test_the_affinity_comes_from_the_pyproject_or_the_environment() -> None:
    """postgres-affinity-seconds sets the affinity, EVENTUAL_POSTGRES_AFFINITY_SECONDS beats it."""
    dsn = "postgresql://h/db"
    assert postgres_settings(config(dsn=dsn), {}).affinity == timedelta(seconds=2)
    pyproject = config(dsn=dsn, postgres_affinity_seconds=0.5)
    assert postgres_settings(pyproject, {}).affinity == timedelta(seconds=0.5)
    env = {"EVENTUAL_POSTGRES_AFFINITY_SECONDS": "0"}
    assert postgres_settings(pyproject, env).affinity == timedelta(0)


@pytest.mark.parametrize("value", ["-1", -0.5, "soon", "nan", "inf", True, "86401"])
def test_a_bad_affinity_is_refused_with_its_value(value: object) -> None:
    """A negative, unparsable or endless affinity raises an error naming the setting and value."""
    options = config(dsn="postgresql://h/db", postgres_affinity_seconds=value)
    with pytest.raises(EventualError, match=rf"postgres-affinity-seconds.*got {value!r}"):
        postgres_settings(options, {})


def test_a_bad_affinity_in_the_environment_is_refused_with_its_value() -> None:
    """A malformed EVENTUAL_POSTGRES_AFFINITY_SECONDS is refused, naming the variable and value."""
    with pytest.raises(EventualError, match=r"EVENTUAL_POSTGRES_AFFINITY_SECONDS.*got '-2'"):
        postgres_settings(
            config(dsn="postgresql://h/db"), {"EVENTUAL_POSTGRES_AFFINITY_SECONDS": "-2"}
        )


def test_a_negative_affinity_is_refused_by_the_backend() -> None:
    """PostgresBackend(affinity=...) refuses a negative wait instead of treating it as none."""
    with pytest.raises(EventualError, match="affinity must not be negative"):
        PostgresBackend("postgresql://h/db", affinity=timedelta(seconds=-1))


def test_a_missing_dsn_says_where_to_set_one() -> None:
    """Without a DSN anywhere, the error names the flag, the variable and the pyproject key."""
    with pytest.raises(EventualError, match=r"--dsn.*EVENTUAL_POSTGRES_DSN.*postgres-dsn"):
        postgres_settings(config(), {})


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("postgres_schema", "drop table; --", "postgres_schema"),
        ("postgres_schema", "1abc", "postgres_schema"),
        ("postgres_pool_size", "0", "postgres-pool-size"),
        ("postgres_pool_size", "many", "postgres-pool-size"),
        ("postgres_dsn", 5, "postgres-dsn"),
    ],
)
def test_bad_settings_are_refused_by_name(key: str, value: object, named: str) -> None:
    """A malformed setting raises an error naming it and the offending value."""
    options = {"postgres_dsn": "postgresql://h/db", key: value}
    with pytest.raises(EventualError, match=named):
        postgres_settings(config(**options), {})


def test_the_plugin_offers_the_postgres_backend_through_its_entry_point() -> None:
    """The installed entry point registers ``postgres``, which builds a PostgresBackend."""
    plugins = Plugins(get_plugin_manager(autoload=True))
    provider = plugins.backend("postgres")
    backend = provider.create(
        config(dsn="postgresql://h/db", postgres_schema="svc", postgres_affinity_seconds="0.25")
    )
    assert isinstance(backend, PostgresBackend)
    assert (backend.schema, backend.affinity) == ("svc", timedelta(seconds=0.25))


def test_the_plugin_offers_the_postgres_bus_with_the_bus_settings() -> None:
    """The entry point registers the ``postgres`` bus, built with the ``bus_*`` settings."""
    plugins = Plugins(get_plugin_manager(autoload=True))
    bus = plugins.event_bus("postgres").create(
        config(dsn="postgresql://h/db", postgres_schema="svc", bus_batch="7")
    )
    assert isinstance(bus, PostgresBus)
    assert isinstance(bus.store, PostgresBusStore)
    assert (bus.store.schema, bus.options.batch) == ("svc", 7)
