"""The messaging plugin: the ``memory`` and ``sqlite`` event buses.

Registered through the ``eventual`` entry-point group like any third-party bus,
so choosing a bus is configuration (``event_bus = "..."``), never an import.
Settings read from the configuration's options: ``sqlite_synchronous`` (shared
with the engine's SQLite backend), ``bus_lease_seconds``, ``bus_batch``,
``bus_dedup_days`` and ``bus_handler_timeout_seconds``; a bad one fails when the
bus is created, naming it and its value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TypeVar

from eventual import EventualError
from eventual.plugins import EventBusProvider, EventualConfig, hookimpl
from eventual.spi import EventBus

from ._delivery import BusOptions
from ._memory import MemoryBus

__all__ = ["bus_options", "eventual_event_bus_providers"]

T = TypeVar("T")


def bus_options(config: EventualConfig) -> BusOptions:
    """Return the bus options the configuration's settings give (the defaults otherwise).

    Raises:
        EventualError: A setting is malformed; the message names it and its value.
    """
    settings = config.options
    lease = _setting(settings, "bus_lease_seconds", 30, lambda v: timedelta(seconds=float(v)))
    batch = _setting(settings, "bus_batch", 64, int)
    window = _setting(settings, "bus_dedup_days", 7, lambda v: timedelta(days=float(v)))
    handler_timeout = _setting(
        settings, "bus_handler_timeout_seconds", 300, lambda v: timedelta(seconds=float(v))
    )
    try:
        return BusOptions(
            lease=lease, batch=batch, dedup_window=window, handler_timeout=handler_timeout
        )
    except ValueError as error:
        raise EventualError(f"invalid event bus setting: {error}") from None


def _setting(
    settings: Mapping[str, object], key: str, default: object, parse: Callable[[str], T]
) -> T:
    value = settings.get(key, default)
    try:
        return parse(str(value))
    except (ValueError, OverflowError):
        raise EventualError(
            f"invalid event bus setting {key} = {value!r}: bus_lease_seconds is a positive "
            "number of seconds, bus_batch a positive integer, bus_dedup_days a positive "
            "number of days, bus_handler_timeout_seconds a positive number of seconds"
        ) from None


def _memory(config: EventualConfig) -> MemoryBus:
    return MemoryBus(bus_options(config))


def _sqlite(config: EventualConfig) -> EventBus:
    # Imported here: registering the plugin must not load sqlite3.
    from eventual.sqlite import database_path, synchronous_setting

    from ._sqlite import SqliteBus

    synchronous = synchronous_setting(config)
    return SqliteBus(database_path(config), options=bus_options(config), synchronous=synchronous)


@hookimpl
def eventual_event_bus_providers() -> Sequence[EventBusProvider]:
    """Contribute the ``memory`` and ``sqlite`` event buses."""
    return [
        EventBusProvider(
            name="memory",
            description="in-process event bus; events are lost when the process ends (tests)",
            create=_memory,
        ),
        EventBusProvider(
            name="sqlite",
            description=(
                "durable local event bus in a SQLite file, shared by the services and "
                "processes that use the file (the default)"
            ),
            create=_sqlite,
        ),
    ]
