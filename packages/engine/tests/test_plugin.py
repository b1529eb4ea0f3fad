"""The engine's backends are found through the plugin host, like any third-party backend."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eventual.history import SignalReceived
from eventual.plugins import EventualConfig, Plugins, get_plugin_manager
from eventual.spi import InboundMessage
from eventual_engine import MemoryBackend
from eventual_engine import _plugin as engine_plugin
from eventual_engine._sqlite import SqliteBackend


def _plugins() -> Plugins:
    manager = get_plugin_manager(autoload=False, plugins=[engine_plugin])
    return Plugins(manager)


def test_backends_are_provided() -> None:
    """The engine plugin provides the memory and sqlite backends with descriptions."""
    backends = _plugins().backends()
    assert {"memory", "sqlite"} <= set(backends)
    assert all(provider.description for provider in backends.values())


def test_entry_point_registers_the_engine() -> None:
    """With autoloading, the installed engine distribution registers itself by entry point."""
    assert "sqlite" in Plugins(get_plugin_manager(autoload=True)).backends()


async def test_sqlite_backend_from_configuration(tmp_path: Path) -> None:
    """A sqlite backend is created from configuration, relative to the pyproject's folder."""
    config = EventualConfig(db="state/app.db", config_file=tmp_path / "pyproject.toml")
    backend = _plugins().backend("sqlite").create(config)
    await backend.open()
    try:
        assert (tmp_path / "state" / "app.db").exists()
    finally:
        await backend.close()


def test_memory_backend_from_configuration() -> None:
    """The memory backend needs no settings."""
    assert isinstance(_plugins().backend("memory").create(EventualConfig()), MemoryBackend)


def test_unknown_backend_lists_known_ones() -> None:
    """Asking for a backend nobody provides names the ones that exist."""
    with pytest.raises(Exception, match="sqlite"):
        _plugins().backend("postgres")


async def test_sqlite_durability_option(tmp_path: Path) -> None:
    """sqlite_synchronous picks FULL or NORMAL; any other value is refused by name."""
    provider = _plugins().backend("sqlite")
    full = provider.create(
        EventualConfig(db=str(tmp_path / "f.db"), options={"sqlite_synchronous": "full"})
    )
    await full.open()
    await full.close()
    with pytest.raises(Exception, match="sqlite_synchronous must be NORMAL or FULL"):
        provider.create(
            EventualConfig(db=str(tmp_path / "x.db"), options={"sqlite_synchronous": "off"})
        )


async def test_sqlite_read_only_option(tmp_path: Path) -> None:
    """sqlite_read_only opens an existing file without writing; other values are refused."""
    provider = _plugins().backend("sqlite")
    path = tmp_path / "r.db"
    created = provider.create(EventualConfig(db=str(path)))
    await created.open()
    await created.close()
    reader = provider.create(EventualConfig(db=str(path), options={"sqlite_read_only": "true"}))
    assert isinstance(reader, SqliteBackend)
    await reader.open()
    signal = SignalReceived(timestamp=datetime.now(UTC), signal="s", payload=None, id="m")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await reader.queue.enqueue([InboundMessage(id="m", execution_id="wf/x", event=signal)])
    await reader.close()
    with pytest.raises(Exception, match="sqlite_read_only must be true or false, got 'maybe'"):
        provider.create(EventualConfig(db=str(path), options={"sqlite_read_only": "maybe"}))
