"""The engine's backends are found through the plugin host, like any third-party backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventual.plugins import EventualConfig, Plugins, get_plugin_manager
from eventual_engine import MemoryBackend
from eventual_engine import _plugin as engine_plugin


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
    opened = await backend.open()  # type: ignore[attr-defined]
    try:
        assert (tmp_path / "state" / "app.db").exists()
    finally:
        await opened.close()


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
    opened = await full.open()  # type: ignore[attr-defined]
    await opened.close()
    with pytest.raises(Exception, match="sqlite_synchronous must be NORMAL or FULL"):
        provider.create(
            EventualConfig(db=str(tmp_path / "x.db"), options={"sqlite_synchronous": "off"})
        )
