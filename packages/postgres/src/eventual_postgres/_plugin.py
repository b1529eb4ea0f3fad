"""eventual-postgres's plugin: the ``postgres`` backend and the ``postgres`` event bus.

Registered through the ``eventual`` entry-point group and built only on public
names (``eventual.plugins``, ``eventual.spi``), as any third-party plugin would
be. Importing it loads no database driver; the providers import theirs when a
backend or bus is created.
"""

from __future__ import annotations

from collections.abc import Sequence

from eventual.plugins import BackendProvider, EventBusProvider, EventualConfig, hookimpl
from eventual.spi import Backend, EventBus

__all__ = ["eventual_backend_providers", "eventual_event_bus_providers"]


def _backend(config: EventualConfig) -> Backend:
    from ._backend import PostgresBackend
    from ._config import postgres_settings

    settings = postgres_settings(config)
    return PostgresBackend(
        settings.dsn,
        schema=settings.schema,
        pool_size=settings.pool_size,
        affinity=settings.affinity,
    )


@hookimpl
def eventual_backend_providers() -> Sequence[BackendProvider]:
    """Contribute the ``postgres`` backend."""
    return [
        BackendProvider(
            name="postgres",
            description="PostgreSQL, shared by many processes on many machines (eventual-postgres)",
            create=_backend,
        )
    ]


def _bus(config: EventualConfig) -> EventBus:
    from eventual_messaging import bus_options

    from ._bus import PostgresBus
    from ._config import postgres_settings

    settings = postgres_settings(config)
    return PostgresBus(
        settings.dsn,
        schema=settings.schema,
        pool_size=settings.pool_size,
        options=bus_options(config),
    )


@hookimpl
def eventual_event_bus_providers() -> Sequence[EventBusProvider]:
    """Contribute the ``postgres`` event bus."""
    return [
        EventBusProvider(
            name="postgres",
            description="PostgreSQL, shared by many processes on many machines (eventual-postgres)",
            create=_bus,
        )
    ]
