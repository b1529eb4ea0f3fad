"""The messaging plugin (``eventual_messaging._plugin``): buses chosen by configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventual import EventualError
from eventual.plugins import EventualConfig, Plugins, get_plugin_manager
from eventual_messaging import MemoryBus, SqliteBus


def test_both_buses_are_offered_through_the_entry_point() -> None:
    """Installing eventual-messaging makes "memory" and "sqlite" available by name."""
    buses = Plugins(get_plugin_manager(autoload=True)).event_buses()
    assert {"memory", "sqlite"} <= set(buses)
    assert "durable" in buses["sqlite"].description


def test_the_sqlite_bus_uses_the_configured_file_and_settings(tmp_path: Path) -> None:
    """db, sqlite_synchronous and the bus_ settings reach the bus."""
    provider = Plugins(get_plugin_manager(autoload=True)).event_bus("sqlite")
    config = EventualConfig(
        event_bus="sqlite",
        db=str(tmp_path / "bus.db"),
        options={
            "sqlite_synchronous": "full",
            "bus_lease_seconds": "2.5",
            "bus_batch": 8,
            "bus_dedup_days": "0.5",
        },
    )
    bus = provider.create(config)
    assert isinstance(bus, SqliteBus)
    assert bus.path == str(tmp_path / "bus.db")
    assert bus.options.lease.total_seconds() == 2.5
    assert bus.options.batch == 8
    assert bus.options.dedup_window.total_seconds() == 12 * 3600


def test_a_relative_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    """A db path from pyproject is resolved next to it."""
    provider = Plugins(get_plugin_manager(autoload=True)).event_bus("sqlite")
    config = EventualConfig(db="state/bus.db", config_file=tmp_path / "pyproject.toml")
    bus = provider.create(config)
    assert isinstance(bus, SqliteBus)
    assert bus.path == str(tmp_path / "state" / "bus.db")


def test_the_memory_bus_needs_no_file() -> None:
    """The memory bus is created from any configuration."""
    provider = Plugins(get_plugin_manager(autoload=True)).event_bus("memory")
    assert isinstance(provider.create(EventualConfig()), MemoryBus)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sqlite_synchronous": "OFF"}, "sqlite_synchronous must be NORMAL or FULL, got 'OFF'"),
        ({"bus_lease_seconds": "soon"}, "invalid event bus setting"),
        ({"bus_batch": 0}, "batch must be at least 1"),
        ({"bus_dedup_days": "never"}, "bus_dedup_days a positive number"),
        ({"bus_dedup_days": -1}, "dedup_window must be positive"),
    ],
)
def test_bad_settings_are_reported_with_the_value(options: dict[str, object], message: str) -> None:
    """A wrong setting fails when the bus is created, naming it."""
    provider = Plugins(get_plugin_manager(autoload=True)).event_bus("sqlite")
    with pytest.raises((EventualError, ValueError), match=message):
        provider.create(EventualConfig(options=options))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bus_lease_seconds": "inf"}, "bus_lease_seconds.*'inf'"),
        ({"bus_dedup_days": "1e12"}, "bus_dedup_days.*'1e12'"),
        ({"bus_batch": "many"}, "bus_batch.*'many'"),
    ],
)
def test_out_of_range_settings_name_the_setting(options: dict[str, object], message: str) -> None:
    """A setting too large for a duration, or not a number, is named with its value."""
    provider = Plugins(get_plugin_manager(autoload=True)).event_bus("memory")
    with pytest.raises(EventualError, match=message):
        provider.create(EventualConfig(options=options))
